"""Where the CPU goes during a benchmark phase: seconds used per kind of process."""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict

import psutil


def _kind(process: psutil.Process) -> str:
    command = " ".join(process.cmdline())
    if process.pid == os.getpid():
        return "bench driver"
    if "postgres" in process.name() or "postgres" in command.split(" ")[0]:
        return "postgres"
    if "temporal" in process.name():
        return "temporal server"
    if "attune api" in command or command.endswith("attune api"):
        return "attune api"
    if "attune worker" in command or command.endswith("attune worker"):
        return "attune worker"
    if "bench.bare" in command:
        return "bare worker"
    return process.name()


def cpu_by_kind() -> dict[str, float]:
    """CPU seconds (user + system) so far of every process on the machine, grouped by kind."""
    totals: dict[str, float] = defaultdict(float)
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            totals[_kind(process)] += times.user + times.system
    return dict(totals)


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> str:
    """One line: CPU seconds each kind used between two readings, biggest first."""
    spent = {kind: after[kind] - before.get(kind, 0.0) for kind in after}
    shown = sorted(((s, k) for k, s in spent.items() if s >= 0.05), reverse=True)
    return "  cpu: " + ", ".join(f"{kind} {seconds:.1f}s" for seconds, kind in shown)
