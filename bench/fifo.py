"""FIFO admission under load: N manual runs of one concurrency-limited no-op action.

Measured against the running Attune of `bench.e2e` (its API and worker processes): runs
are requested through the API as fast as the senders go, and the phase ends when every
run has completed. Request-to-grant is `admitted_at - created` by the database's clock.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from sqlalchemy import text

from bench.stats import RunFigures
from db.engine import create_engine
from tests.pack_folders import upload_pack, write_pack

# What the Rust system these policies come from aimed at, with an in-memory queue.
RUST_TARGETS = {(1000, 5): 100.0, (10000, 10): 300.0}


@dataclass(frozen=True)
class FifoFigures:
    run: RunFigures
    grant_latencies: RunFigures
    worker_peak_rss_mb: float
    inversions: int


async def run_fifo(
    api: httpx.AsyncClient,
    database_url: str,
    workdir: Path,
    worker_pid: int,
    *,
    count: int,
    limit: int,
    send: object,
) -> FifoFigures:
    pack = f"fifo{uuid.uuid4().hex[:8]}"
    folder = write_pack(
        workdir,
        pack,
        actions={"work": {"runner_type": "noop"}},
        policies={"gate": {"action": f"{pack}.work", "concurrency": {"limit": limit}}},
    )
    (await upload_pack(api, folder)).raise_for_status()
    action = f"{pack}.work"

    async def submit(index: int) -> None:
        response = await api.post("/executions", json={"action": action, "parameters": {}})
        response.raise_for_status()

    worker = psutil.Process(worker_pid)
    peak = worker.memory_info().rss
    began = time.perf_counter()
    sending = asyncio.create_task(send(count, submit))  # type: ignore[operator]
    engine = create_engine(database_url)
    try:
        while True:
            peak = max(peak, worker.memory_info().rss)
            async with engine.connect() as connection:
                done = (
                    await connection.execute(
                        text(
                            "SELECT count(*) FROM attune.execution "
                            "WHERE action_ref = :a AND status = 'completed'"
                        ),
                        {"a": action},
                    )
                ).scalar_one()
            if done == count:
                break
            if sending.done() and sending.exception() is not None:
                raise sending.exception()  # type: ignore[misc]
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - began
        await sending
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT queue_position, extract(epoch FROM admitted_at - created), "
                        "admitted_at, extract(epoch FROM ended_at - created) "
                        "FROM attune.execution WHERE action_ref = :a ORDER BY queue_position"
                    ),
                    {"a": action},
                )
            ).all()
    finally:
        await engine.dispose()
    admitted_order = [row[0] for row in sorted(rows, key=lambda row: (row[2], row[0]))]
    inversions = sum(1 for a, b in itertools.pairwise(admitted_order) if a > b)
    name = f"FIFO {count} x {limit}"
    return FifoFigures(
        run=RunFigures(name, count, elapsed, [float(row[3]) for row in rows]),
        grant_latencies=RunFigures(
            f"{name} request to grant", count, elapsed, [float(row[1]) for row in rows]
        ),
        worker_peak_rss_mb=peak / 1_048_576,
        inversions=inversions,
    )


def report(figures: FifoFigures, bare_throughput: float, count: int, limit: int) -> str:
    run, grants = figures.run, figures.grant_latencies
    target = RUST_TARGETS.get((count, limit))
    against = f" (the Rust system aimed at > {target:.0f}/s)" if target else ""
    return "\n".join(
        [
            run.line() + against,
            f"  request to grant: p50 {grants.percentile(50) * 1000:.0f} ms, "
            f"p95 {grants.percentile(95) * 1000:.0f} ms; "
            f"worker peak RSS {figures.worker_peak_rss_mb:.0f} MB; "
            f"adjacent grant inversions {figures.inversions}",
            f"fifo_vs_bare_ratio[{count}x{limit}]={run.throughput / bare_throughput:.3f}",
        ]
    )
