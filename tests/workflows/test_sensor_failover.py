"""A sensor across real `attune worker` processes: it runs once, and a SIGKILL of the
worker running it moves it, cursor and all, to the other."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from tests.conftest import TemporalServer
from tests.polling import until
from tests.sensors import (
    events_of,
    numbers,
    start_sensors,
    stop_sensor_workflows,
    until_events,
    write_sensor_pack,
)
from tests.worker_processes import start_worker_process
from tests.workflows.test_pack_workflow_crash import kill


@contextlib.asynccontextmanager
async def two_workers(
    settings: Settings, temporal: TemporalServer, root: Path
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    processes = [
        await start_worker_process(settings, temporal, root / name) for name in ("one", "two")
    ]
    try:
        yield processes
    finally:
        for process in processes:
            if process.returncode is None:
                await kill(process)


def sensor_hosts(ref: str) -> list[int]:
    """The pids of the processes running this sensor's code, on any worker."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and f"ATTUNE_SENSOR={ref}".encode() in (
                (proc / "environ").read_bytes().split(b"\0")
            ):
                found.append(int(proc.name))
    return found


async def test_with_two_worker_processes_a_sensor_runs_once(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref, folder = write_sensor_pack(tmp_path, config={"per_poll": 2})
    sensor = f"{ref}.watch"
    async with two_workers(settings, temporal, tmp_path) as workers:
        pids = {worker.pid for worker in workers}
        try:
            await start_sensors(api, engine, temporal, settings, folder)

            await until_events(engine, sensor, 8, within=60, what="eight events")
            hosts = sensor_hosts(sensor)
        finally:
            await stop_sensor_workflows(temporal, engine, ref)

    seen = await numbers(engine, sensor)
    assert seen == list(range(1, len(seen) + 1)), "each number once, in order"
    ran_on = {event.payload["worker"] for event in await events_of(engine, sensor)}
    assert len(ran_on) == 1
    assert ran_on <= pids
    assert len(hosts) == 1, "one process runs the sensor's code"


async def test_sigkill_of_the_worker_running_a_sensor_moves_it_with_its_cursor(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    per_poll = 3
    ref, folder = write_sensor_pack(tmp_path, config={"per_poll": per_poll})
    sensor = f"{ref}.watch"
    async with two_workers(settings, temporal, tmp_path) as workers:
        try:
            await start_sensors(api, engine, temporal, settings, folder)

            await until_events(engine, sensor, 2 * per_poll, within=60, what="two polls")
            running_on = (await events_of(engine, sensor))[-1].payload["worker"]
            [running] = [worker for worker in workers if worker.pid == running_on]
            [other] = [worker.pid for worker in workers if worker.pid != running_on]
            before = len(await events_of(engine, sensor))
            killed_at = time.monotonic()
            await kill(running)

            async def moved() -> bool:
                events = await events_of(engine, sensor)
                return sum(1 for e in events[before:] if e.payload["worker"] == other) >= per_poll

            await until(moved, within=60, what="the move to the other worker")
            moved_within = time.monotonic() - killed_at
        finally:
            await stop_sensor_workflows(temporal, engine, ref)

    seen = await numbers(engine, sensor)
    assert sorted(set(seen)) == list(range(1, max(seen) + 1)), "no number lost"
    assert len(seen) - len(set(seen)) <= per_poll, "at most the poll cut short is repeated"
    # Heartbeat timeout (3 s) + first retry (1 s) + a new process and its poll (~1 s).
    assert moved_within < 15
