"""`make bench`: bare Temporal against Attune end to end, on one dev server, in one run.

(a) bare: N workflows of one no-op activity, started from here, run by a worker process.
(b) Attune: N events posted to the API (its own process) through one rule to `core.noop`,
    run by an `attune worker` process, until every execution is completed.
(c) FIFO admission (`bench.fifo`): for each COUNTxLIMIT in BENCH_FIFO (default
    1000x5,10000x10), COUNT manual runs of a no-op action limited to LIMIT at once.
All share one Temporal dev server and run one after the other. Latency is from the
start call (a) or the event's creation (b) or the row's creation (c) to completion.

    python -m bench.e2e [N]     (N defaults to 500; BENCH_SUBMITTERS sets the parallel senders)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import text
from temporalio.client import Client

from attune.bootstrap import prepare_database
from attune.config import Settings
from attune.embedded_temporal import start_embedded_temporal
from attune.encryption_key import generate_encryption_key
from attune.launcher import wait_for_api
from attune.supervision.parts import api_part, worker_part
from attune.supervision.supervisor import start_part, stop_parts
from attune.temporal_setup import register_search_attributes
from bench.bare import BareWorkflow
from bench.cpu import cpu_by_kind, cpu_spent
from bench.databases import throwaway_database
from bench.fifo import FifoFigures, report, run_fifo
from bench.stats import RunFigures
from db.engine import create_engine
from tests.conftest import free_port
from tests.pack_folders import upload_pack, write_pack

SUBMITTERS = int(os.environ.get("BENCH_SUBMITTERS", "32"))
FIFO_PHASES = [
    (int(count), int(limit))
    for count, limit in (
        phase.split("x")
        for phase in os.environ.get("BENCH_FIFO", "1000x5,10000x10").split(",")
        if phase
    )
]
COMPLETION_TIMEOUT = 600.0


async def in_parallel(count: int, submit: object) -> None:
    """Call `submit(i)` for i in range(count) with SUBMITTERS calls in flight at a time."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def sender() -> None:
        while not queue.empty():
            await submit(queue.get_nowait())  # type: ignore[operator]

    await asyncio.gather(*(sender() for _ in range(SUBMITTERS)))


async def run_bare(client: Client, address: str, count: int) -> RunFigures:
    task_queue = f"bench-bare-{uuid.uuid4()}"
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bare", address, task_queue
    )
    latencies: list[float] = []
    results: list[asyncio.Task[None]] = []

    async def submit(index: int) -> None:
        started = time.perf_counter()
        handle = await client.start_workflow(
            BareWorkflow.run, id=f"bare-{task_queue}-{index}", task_queue=task_queue
        )

        async def finish() -> None:
            await handle.result()
            latencies.append(time.perf_counter() - started)

        results.append(asyncio.create_task(finish()))

    try:
        before = cpu_by_kind()
        began = time.perf_counter()
        await in_parallel(count, submit)
        await asyncio.wait_for(asyncio.gather(*results), COMPLETION_TIMEOUT)
        elapsed = time.perf_counter() - began
        print(cpu_spent(before, cpu_by_kind()), flush=True)
    finally:
        worker.kill()
        await worker.wait()
    return RunFigures("bare Temporal", count, elapsed, latencies)


async def run_attune(
    settings: Settings, workdir: Path, count: int
) -> tuple[RunFigures, list[tuple[int, int, FifoFigures]]]:
    environment = {
        **os.environ,
        "ATTUNE_DATA_DIR": str(settings.data_dir),
        "ATTUNE_DATABASE_URL": str(settings.database_url),
        "TEMPORAL_ADDRESS": str(settings.temporal_address),
        "ATTUNE_TASK_QUEUE": settings.task_queue,
        "ATTUNE_API_PORT": str(settings.api_port),
        "ATTUNE_ENCRYPTION_KEY": generate_encryption_key(),
        "ATTUNE_LOG_LEVEL": "WARNING",
    }
    api_process, worker_process = api_part(environment), worker_part(settings, environment)
    try:
        await start_part(api_process)
        await start_part(worker_process)
        assert worker_process.child is not None
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        await wait_for_api(f"{api_url}/api/v1/health")
        token = (settings.data_dir / "admin-token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        limits = httpx.Limits(max_connections=SUBMITTERS)
        async with httpx.AsyncClient(
            base_url=f"{api_url}/api/v1", headers=headers, limits=limits, timeout=60
        ) as api:
            folder = write_pack(
                workdir,
                "bench",
                triggers={"tick": {"type": "custom"}},
                rules={"to_noop": {"trigger": "bench.tick", "action": {"ref": "core.noop"}}},
            )
            (await upload_pack(api, folder)).raise_for_status()
            execution_ids: list[int] = []

            async def submit(index: int) -> None:
                response = await api.post(
                    "/events", json={"trigger": "bench.tick", "payload": {"n": index}}
                )
                response.raise_for_status()
                execution_ids.extend(response.json()["execution_ids"])

            before = cpu_by_kind()
            began = time.perf_counter()
            await in_parallel(count, submit)
            await wait_until_completed(str(settings.database_url), execution_ids)
            elapsed = time.perf_counter() - began
            print(cpu_spent(before, cpu_by_kind()), flush=True)
            latencies = await event_to_completed(str(settings.database_url), execution_ids)
            print(RunFigures("Attune end to end", count, elapsed, latencies).line(), flush=True)
            fifo = []
            for fifo_count, limit in FIFO_PHASES:
                before = cpu_by_kind()
                figures = await run_fifo(
                    api,
                    str(settings.database_url),
                    workdir,
                    worker_process.child.pid,
                    count=fifo_count,
                    limit=limit,
                    send=in_parallel,
                )
                print(figures.run.line(), flush=True)
                print(cpu_spent(before, cpu_by_kind()), flush=True)
                fifo.append((fifo_count, limit, figures))
    finally:
        await stop_parts([[api_process, worker_process]], within=30)
    return RunFigures("Attune end to end", count, elapsed, latencies), fifo


async def wait_until_completed(database_url: str, ids: list[int]) -> None:
    engine = create_engine(database_url)
    deadline = time.monotonic() + COMPLETION_TIMEOUT
    try:
        while True:
            async with engine.connect() as connection:
                done = (
                    await connection.execute(
                        text(
                            "SELECT count(*) FROM attune.execution "
                            "WHERE id = ANY(:ids) AND status = 'completed'"
                        ),
                        {"ids": ids},
                    )
                ).scalar_one()
            if done == len(ids):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {done} of {len(ids)} executions completed")
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


async def event_to_completed(database_url: str, ids: list[int]) -> list[float]:
    """Seconds from each event's creation to its execution's end, by the database's clock."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT extract(epoch FROM x.ended_at - ev.created) FROM attune.execution x "
                    "JOIN attune.enforcement en ON en.id = x.enforcement_id "
                    "JOIN attune.event ev ON ev.id = en.event_id WHERE x.id = ANY(:ids)"
                ),
                {"ids": ids},
            )
            return [float(row[0]) for row in rows]
    finally:
        await engine.dispose()


async def main(count: int) -> None:
    async with throwaway_database("attune-bench-") as (workdir, database_url):
        port = free_port()
        temporal = await start_embedded_temporal(port=port, ui=False)
        try:
            address = f"127.0.0.1:{port}"
            await register_search_attributes(temporal.client, "default")
            settings = Settings(
                data_dir=workdir / "data",
                database_url=database_url,
                temporal_address=address,
                task_queue=f"bench-attune-{uuid.uuid4()}",
                api_port=free_port(),
                encryption_key=SecretStr(generate_encryption_key()),
            )
            await prepare_database(database_url, settings)
            print(f"N={count}, {SUBMITTERS} parallel senders, one dev server", flush=True)
            bare = await run_bare(temporal.client, address, count)
            print(bare.line(), flush=True)
            attune, fifo = await run_attune(settings, workdir, count)
            print(f"e2e_vs_bare_ratio={attune.throughput / bare.throughput:.3f}")
            for fifo_count, limit, figures in fifo:
                print(report(figures, bare.throughput, fifo_count, limit), flush=True)
        finally:
            await temporal.shutdown()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
