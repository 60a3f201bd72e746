"""Expired keys deleted by the worker's loop, and a database that is down not stopping it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from attune.config import Settings
from attune.engine.event_sources import run_event_sources
from attune.engine.workflow_starts import WorkflowStarter
from attune.keys.expiry import purge_expired_keys
from db.engine import create_engine, create_session_factory
from db.repositories import key as keys
from tests.attune.keys.stored import raw_key
from tests.conftest import TemporalServer, free_port
from tests.db.factories import unique

EXPIRY_LOG = "attune.keys.expiry"


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def unreachable() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of a database nothing listens for."""
    engine = create_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none")
    yield create_session_factory(engine)
    await engine.dispose()


async def expired_and_live(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, str]:
    """(the name of a key that expired a minute ago, that of one that expires in an hour)."""
    now = datetime.now(UTC)
    expired, live = unique("gone"), unique("live")
    async with sessions.begin() as session:
        await keys.repository.create(
            session, name=expired, value="x", expires_at=now - timedelta(minutes=1)
        )
        await keys.repository.create(
            session, name=live, value="x", expires_at=now + timedelta(hours=1)
        )
    return expired, live


async def test_purging_deletes_the_expired_keys_only(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    expired, live = await expired_and_live(sessions)

    deleted = await purge_expired_keys(sessions)

    assert deleted is not None
    assert deleted >= 1
    assert await raw_key(engine, expired) is None
    assert await raw_key(engine, live) is not None


async def test_purging_with_the_database_down_logs_and_does_not_raise(
    unreachable: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    assert await purge_expired_keys(unreachable) is None
    assert "deleting expired keys failed" in caplog.text


async def test_the_workers_loop_deletes_expired_keys(
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
) -> None:
    expired, live = await expired_and_live(sessions)
    stop = asyncio.Event()

    task = asyncio.create_task(
        run_event_sources(
            sessions,
            WorkflowStarter.from_settings(temporal.client, settings),
            stop=stop,
            resync_interval=None,
            purge_interval=timedelta(minutes=1),
        )
    )
    deadline = time.monotonic() + 10
    while await raw_key(engine, expired) is not None:
        assert time.monotonic() < deadline, "the loop did not delete the expired key"
        await asyncio.sleep(0.1)
    stop.set()
    await task

    assert await raw_key(engine, live) is not None


async def test_the_workers_loop_goes_on_while_the_database_is_down(
    unreachable: async_sessionmaker[AsyncSession],
    temporal: TemporalServer,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()

    task = asyncio.create_task(
        run_event_sources(
            unreachable,
            WorkflowStarter.from_settings(temporal.client, settings),
            stop=stop,
            dispatch_interval=timedelta(seconds=0.05),
            resync_interval=None,
            purge_interval=timedelta(0),
        )
    )
    deadline = time.monotonic() + 10
    while caplog.text.count("deleting expired keys failed") < 3:
        assert not task.done(), "the loop stopped"
        assert time.monotonic() < deadline, "the loop did not try again"
        await asyncio.sleep(0.05)
    stop.set()
    await task

    assert next(r for r in caplog.records if r.name == EXPIRY_LOG).levelno == logging.ERROR
