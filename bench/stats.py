"""Throughput and latency percentiles of one benchmark run."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import quantiles


@dataclass(frozen=True)
class RunFigures:
    name: str
    count: int
    seconds: float
    latencies: list[float]

    @property
    def throughput(self) -> float:
        return self.count / self.seconds

    def percentile(self, which: int) -> float:
        """The `which`-th percentile latency in seconds (nearest cut of 100 quantiles)."""
        if len(self.latencies) == 1:
            return self.latencies[0]
        return quantiles(self.latencies, n=100, method="inclusive")[which - 1]

    def line(self) -> str:
        return (
            f"{self.name}: {self.count} in {self.seconds:.2f} s = {self.throughput:.1f}/s; "
            f"latency p50 {self.percentile(50) * 1000:.0f} ms, "
            f"p95 {self.percentile(95) * 1000:.0f} ms"
        )
