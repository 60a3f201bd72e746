"""Endings a killed worker left behind, recorded by the worker that comes after it.

An action's guard writes its ending to `$ATTUNE_DATA_DIR/endings/` the moment the action
ends, and the run activity deletes the file once the ending is in PostgreSQL. A file that
is still there a while later belongs to a worker that died in between (finding: a process
that ended 0.09 s before its worker's SIGKILL used to be recorded `abandoned`, no result).
Each worker records such files when it starts and then periodically; the first ending
wins, so a run that was already ended some other way keeps that ending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.run_endings import ended_status, record_ending, storable
from activities.runners.endings import forget_ending, read_ending
from db.outages import is_database_unreachable

logger = logging.getLogger(__name__)

# A live worker records and deletes an ending within milliseconds of the action's end; a
# file this old has lost its worker. Well under the heartbeat timeout, so the recovered
# ending usually lands before Temporal retries the lost run.
LEFT_BEHIND_AFTER = timedelta(seconds=5)
_FILE_NAME = re.compile(r"execution-(\d+)\.json")


def prepare_endings_dir(path: Path) -> Path:
    """The directory, created private: endings hold actions' output."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def left_behind(endings_dir: Path, older_than: timedelta) -> list[tuple[int, Path]]:
    """The ending files older than `older_than`, with their executions' ids."""
    cutoff = time.time() - older_than.total_seconds()
    found = []
    for path in sorted(endings_dir.glob("execution-*.json")):
        match = _FILE_NAME.fullmatch(path.name)
        with contextlib.suppress(FileNotFoundError):  # recorded by its own worker meanwhile
            if match is not None and path.stat().st_mtime <= cutoff:
                found.append((int(match.group(1)), path))
    return found


async def recover_endings(
    endings_dir: Path,
    sessions: async_sessionmaker[AsyncSession],
    transactions: async_sessionmaker[AsyncSession],
    client: Client,
    *,
    older_than: timedelta = LEFT_BEHIND_AFTER,
) -> list[int]:
    """Record every ending left behind; the ids of the executions it ended."""
    recorded = []
    for execution_id, path in left_behind(endings_dir, older_than):
        output = read_ending(path)
        if output is None:
            continue  # gone meanwhile, or not a whole ending (left for a person to see)
        outcome = await record_ending(
            sessions,
            transactions,
            execution_id,
            ended_status(output),
            result=storable(output),
            error=output.error,
            # Gives back an admission slot if the execution holds one, else just ends it.
            queued=True,
            client=client,
        )
        forget_ending(path)
        logger.info(
            "recorded the ending a lost worker left for execution %d: %s",
            execution_id,
            outcome.status,
        )
        recorded.append(execution_id)
    return recorded


async def run_ending_recovery(
    endings_dir: Path,
    sessions: async_sessionmaker[AsyncSession],
    transactions: async_sessionmaker[AsyncSession],
    client: Client,
    *,
    interval: timedelta,
    stop: asyncio.Event,
) -> None:
    """Recover endings now and every `interval` until `stop` is set."""
    while not stop.is_set():
        try:
            await recover_endings(endings_dir, sessions, transactions, client)
        except Exception as error:
            if not is_database_unreachable(error):
                logger.exception("recovering endings failed; trying again later")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval.total_seconds())
