"""A worker's row in `worker`: written as it starts, stamped every few seconds, closed on stop.

Operators see from it which workers run and which went silent (`GET /api/v1/workers`,
`attune worker list`, the health endpoint's count). The row is best effort: a worker whose
database is away keeps running actions, and writes its row once PostgreSQL is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass
from importlib import metadata

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attune import errors
from db.models import WorkerType
from db.repositories import worker as workers

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Presence:
    """Who this worker process is, as its row says."""

    name: str
    task_queues: tuple[str, ...]
    heartbeat_seconds: float
    host: str
    pid: int

    @classmethod
    def of_this_process(
        cls, identity: str, task_queues: tuple[str, ...], heartbeat_seconds: float
    ) -> Presence:
        """`identity` is the Temporal client's (`pid@host`): the Web UI names workers so."""
        return cls(identity, task_queues, heartbeat_seconds, socket.gethostname(), os.getpid())


def attune_version() -> str:
    try:
        return metadata.version("attune")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


async def keep_present(
    sessions: async_sessionmaker[AsyncSession], presence: Presence, *, stop: asyncio.Event
) -> None:
    """Write the row, stamp it every `heartbeat_seconds` until `stop`, then mark it stopped."""
    worker_id: int | None = None
    while not stop.is_set():
        try:
            worker_id = await _beat(sessions, presence, worker_id)
        except errors.NotFound:
            worker_id = None  # its row was deleted (a purge, a person): written again
        except (SQLAlchemyError, OSError) as error:
            logger.warning("worker row not written (%s); trying again", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), presence.heartbeat_seconds)
    if worker_id is not None:
        try:
            async with sessions.begin() as session:
                await workers.mark_stopped(session, id=worker_id)
        except (SQLAlchemyError, OSError) as error:
            logger.warning("worker row not marked stopped (%s): it will show as lost", error)


async def _beat(
    sessions: async_sessionmaker[AsyncSession], presence: Presence, worker_id: int | None
) -> int:
    async with sessions.begin() as session:
        if worker_id is not None:
            await workers.heartbeat(session, id=worker_id)
            return worker_id
        row = await workers.repository.create(
            session,
            name=presence.name,
            worker_type=WorkerType.LOCAL,
            host=presence.host,
            pid=presence.pid,
            task_queues=list(presence.task_queues),
            version=attune_version(),
            heartbeat_seconds=presence.heartbeat_seconds,
        )
        await workers.heartbeat(session, id=row.id)
        logger.info("worker recorded as %s (row %d)", presence.name, row.id)
        return row.id
