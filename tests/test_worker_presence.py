"""Every `attune worker` process records itself: its row appears, beats, goes inactive on a
clean stop and shows as lost once SIGKILL silenced it."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from attune.config import Settings
from attune.worker_presence import Presence, attune_version, keep_present
from db.engine import create_session_factory
from db.models import Worker, WorkerStatus
from tests.conftest import TemporalServer
from tests.db.factories import unique
from tests.db.test_outages import nowhere
from tests.polling import until
from tests.worker_processes import start_worker_process

# A fast beat, so that three missed ones (lost) take a second and a half.
BEAT = {"ATTUNE_WORKER_HEARTBEAT_INTERVAL": "0.5"}


async def row_of(
    api: httpx.AsyncClient, pid: int, *, state: str | None = None, within: float = 30
) -> dict[str, Any]:
    """The worker row of process `pid`, once it exists (and is in `state`, if given)."""
    deadline = time.monotonic() + within
    while True:
        page = await api.get("/api/v1/workers", params={"limit": 1000})
        assert page.status_code == 200, page.text
        rows = [row for row in page.json()["items"] if row["pid"] == pid]
        if rows and (state is None or rows[0]["state"] == state):
            row: dict[str, Any] = rows[0]
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"no worker row of pid {pid} in state {state} within {within}s")
        await asyncio.sleep(0.1)


async def test_a_worker_records_itself_beats_and_goes_inactive_on_a_clean_stop(
    api: httpx.AsyncClient, temporal: TemporalServer, settings: Settings, tmp_path: Path
) -> None:
    process = await start_worker_process(settings, temporal, tmp_path / "worker", **BEAT)
    try:
        first = await row_of(api, process.pid, state="alive")
        await asyncio.sleep(1.2)
        later = await row_of(api, process.pid)
        health = (await api.get("/api/v1/health")).json()
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    stopped = await row_of(api, process.pid)

    assert first["name"] == f"{process.pid}@{socket.gethostname()}"
    assert first["host"] == socket.gethostname()
    assert first["task_queues"] == [settings.task_queue]
    assert first["version"] == attune_version()
    assert first["heartbeat_seconds"] == 0.5
    assert later["state"] == "alive"
    assert later["last_heartbeat"] > first["last_heartbeat"]
    assert health["workers_alive"] >= 1
    assert stopped["state"] == "inactive"
    assert stopped["stopped"] is not None


async def test_a_killed_worker_shows_as_lost(
    api: httpx.AsyncClient, temporal: TemporalServer, settings: Settings, tmp_path: Path
) -> None:
    process = await start_worker_process(settings, temporal, tmp_path / "worker", **BEAT)
    try:
        await row_of(api, process.pid, state="alive")
    finally:
        process.kill()
        await process.wait()
    killed_at = time.monotonic()

    lost = await row_of(api, process.pid, state="lost", within=10)

    assert time.monotonic() - killed_at < 10
    assert lost["stopped"] is None
    alive = (await api.get("/api/v1/workers", params={"state": "alive", "limit": 1000})).json()
    assert process.pid not in [row["pid"] for row in alive["items"]]
    refused = await api.get("/api/v1/workers", params={"state": "asleep"})
    assert refused.status_code == 422, refused.text
    assert "state" in refused.text


async def test_a_row_deleted_under_a_running_worker_is_written_again(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    name = unique("deleted@")
    presence = Presence(name, ("q",), heartbeat_seconds=0.1, host="here", pid=1)
    stop = asyncio.Event()
    keeping = asyncio.create_task(keep_present(sessions, presence, stop=stop))
    try:
        first = await row_named(sessions, name)
        async with sessions.begin() as session:
            await session.execute(delete(Worker).where(Worker.id == first))
        second = await row_named(sessions, name)
    finally:
        stop.set()
        await asyncio.wait_for(keeping, 10)

    assert second != first
    async with sessions() as session:
        row = await session.get(Worker, second)
    assert row is not None
    assert row.status is WorkerStatus.INACTIVE


async def test_a_worker_whose_database_is_away_keeps_trying_and_stops_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gone = nowhere(tmp_path)  # a socket directory with no server in it
    presence = Presence("away@here", ("q",), heartbeat_seconds=0.1, host="here", pid=1)
    stop = asyncio.Event()
    try:
        keeping = asyncio.create_task(
            keep_present(create_session_factory(gone), presence, stop=stop)
        )
        await until(
            lambda: caplog.text.count("worker row not written") >= 3, within=10, what="3 tries"
        )
        assert not keeping.done()  # it neither raised nor gave up
        stop.set()
        await asyncio.wait_for(keeping, 10)  # and its stop needs no database
    finally:
        await gone.dispose()


async def row_named(sessions: async_sessionmaker[AsyncSession], name: str) -> int:
    """The id of the worker row called `name`, once there is one."""
    deadline = time.monotonic() + 10
    while True:
        async with sessions() as session:
            found = await session.scalar(select(Worker.id).where(Worker.name == name))
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"no worker row {name}"
        await asyncio.sleep(0.05)
