"""History that does not grow forever: the purge every worker offers to run, and only one
runs at a time.

`ATTUNE_RETENTION_EXECUTIONS_DAYS` and `ATTUNE_RETENTION_EVENTS_DAYS` (0 keeps forever) say
what is old; `db.repositories.retention` says what of it may go (nothing in flight) and
deletes it in batches. Every `ATTUNE_RETENTION_INTERVAL` each worker tries a PostgreSQL
advisory lock: the one that gets it purges, the others skip that round. `attune purge`
runs the same purge by hand, with its own cutoffs, or counts what it would delete.

Artifacts are kept by their own policies (`db.repositories.artifact_retention`), enforced
by the same purge; their files in the store go once their rows have, and files no row
names (a crash between writing a file and its row) go once they are an hour old.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from attune.artifacts.store import PARTIAL_SUFFIX, ArtifactStore
from db.models import Enforcement, Event, Execution
from db.repositories import artifact_retention, retention
from db.repositories.retention import Cutoffs, HistoryRow

logger = logging.getLogger(__name__)

# Any constant every purger agrees on: the ASCII bytes of "attunert" as an int64.
LOCK_KEY = 0x61747475_6E65_7274
BATCH_SIZE = 1000
# Between two batches, so the API's queries find the tables free most of the time.
BATCH_PAUSE_SECONDS = 0.02
# A store file no row names, this old, is an orphan: its row was never written.
ORPHAN_AGE = timedelta(hours=1)
# Rows of workers stopped or silent this long go, whatever the settings say.
WORKER_ROWS_KEPT = timedelta(days=7)
Progress = Callable[[str, int], None]


@dataclass
class PurgeCounts:
    """How many rows of each kind a purge deleted (or, dry, would delete)."""

    executions: int = 0
    enforcements: int = 0
    events: int = 0
    workers: int = 0
    artifacts: int = 0

    def total(self) -> int:
        return sum(getattr(self, kind.name) for kind in fields(self))


def cutoffs_for(executions: timedelta, events: timedelta, now: datetime | None = None) -> Cutoffs:
    """The cutoffs of retention periods, a period of 0 keeping that kind forever."""
    now = now or datetime.now(UTC)
    return Cutoffs(
        executions=now - executions if executions else None,
        events=now - events if events else None,
    )


async def purge_history(
    sessions: async_sessionmaker[AsyncSession],
    cutoffs: Cutoffs,
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    pause_seconds: float = BATCH_PAUSE_SECONDS,
    progress: Progress | None = None,
    now: datetime | None = None,
    store: ArtifactStore | None = None,
) -> PurgeCounts:
    """Delete (or with `dry_run` count) what is past the cutoffs and not in flight:
    executions first, then the enforcements and events left with nothing kept on them;
    then, given the artifact `store`, the artifacts past their own retention."""
    counts = PurgeCounts()
    plan: list[tuple[str, HistoryRow, ColumnElement[bool], datetime]] = []
    if cutoffs.executions is not None:
        plan.append(
            (
                "executions",
                Execution,
                retention.execution_may_go(cutoffs.executions),
                cutoffs.executions,
            )
        )
        plan.append(
            (
                "enforcements",
                Enforcement,
                retention.enforcement_may_go(cutoffs.executions),
                cutoffs.executions,
            )
        )
    if cutoffs.events is not None:
        plan.append(("events", Event, retention.event_may_go(cutoffs), cutoffs.events))
    for kind, model, may_go, cutoff in plan:
        if dry_run:
            async with sessions() as session:
                found = await retention.count_may_go(session, model, may_go, cutoff)
        else:
            found = await _delete_in_batches(
                sessions, kind, model, may_go, cutoff, batch_size, pause_seconds, progress
            )
        setattr(counts, kind, found)
    async with sessions() as session, session.begin():
        workers_cutoff = (now or datetime.now(UTC)) - WORKER_ROWS_KEPT
        counts.workers = await retention.delete_old_workers(
            session, workers_cutoff, dry_run=dry_run
        )
    if store is not None:
        counts.artifacts = await purge_artifacts(
            sessions,
            store,
            now=now or datetime.now(UTC),
            dry_run=dry_run,
            batch_size=batch_size,
            pause_seconds=pause_seconds,
            progress=progress,
        )
    return counts


async def purge_artifacts(
    sessions: async_sessionmaker[AsyncSession],
    store: ArtifactStore,
    *,
    now: datetime,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    pause_seconds: float = BATCH_PAUSE_SECONDS,
    progress: Progress | None = None,
) -> int:
    """Delete (or count) the artifacts past their retention, then their files, then the
    store's orphan files."""
    if dry_run:
        async with sessions() as session:
            return await artifact_retention.count_past_retention(session, now=now)
    deleted = 0
    while True:
        async with sessions() as session, session.begin():
            gone, files = await artifact_retention.delete_past_retention(
                session, now=now, batch_size=batch_size
            )
        await asyncio.to_thread(store.remove, files)
        if not gone:
            break
        deleted += gone
        if progress is not None:
            progress("artifacts", deleted)
        await asyncio.sleep(pause_seconds)
    await _remove_orphans(sessions, store)
    return deleted


async def _remove_orphans(sessions: async_sessionmaker[AsyncSession], store: ArtifactStore) -> None:
    candidates = await asyncio.to_thread(store.files_older_than, ORPHAN_AGE.total_seconds())
    partial = [name for name in candidates if name.endswith(PARTIAL_SUFFIX)]
    async with sessions() as session:
        orphans = await artifact_retention.unreferenced(
            session, [name for name in candidates if name not in partial]
        )
    if partial or orphans:
        logger.info("removing %d orphan files of the artifact store", len(partial) + len(orphans))
        await asyncio.to_thread(store.remove_partial_or_orphan, partial + orphans)


async def _delete_in_batches(
    sessions: async_sessionmaker[AsyncSession],
    kind: str,
    model: HistoryRow,
    may_go: ColumnElement[bool],
    cutoff: datetime,
    batch_size: int,
    pause_seconds: float,
    progress: Progress | None,
) -> int:
    deleted = 0
    after: retention.Key | None = None
    while True:
        async with sessions() as session, session.begin():
            gone, last = await retention.delete_batch(
                session, model, may_go, created_before=cutoff, after=after, batch_size=batch_size
            )
        if last is None:
            return deleted
        deleted += gone
        after = last
        if progress is not None:
            progress(kind, deleted)
        await asyncio.sleep(pause_seconds)


@contextlib.asynccontextmanager
async def first_to_purge(engine: AsyncEngine) -> AsyncIterator[bool]:
    """Whether this process holds the purge's lock, for the body's duration.

    A session-level advisory lock on a connection of its own (autocommit, so no transaction
    stays open meanwhile); a process that dies lets it go with its connection.
    """
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        held = bool(await connection.scalar(select(func.pg_try_advisory_lock(LOCK_KEY))))
        try:
            yield held
        finally:
            if held:
                await connection.scalar(select(func.pg_advisory_unlock(LOCK_KEY)))


async def purge_unless_another_is(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    cutoffs: Cutoffs,
    store: ArtifactStore | None = None,
) -> PurgeCounts | None:
    """Purge, unless another process is purging now (then None)."""
    async with first_to_purge(engine) as first:
        if not first:
            return None
        return await purge_history(sessions, cutoffs, store=store)


async def run_retention(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    *,
    executions_days: int,
    events_days: int,
    interval: timedelta,
    stop: asyncio.Event,
    store: ArtifactStore | None = None,
) -> None:
    """Purge every `interval` until `stop` is set, when no other worker is at it.

    Never raises: a failed round is logged and the next one tries again.
    """
    while not stop.is_set():
        try:
            cutoffs = cutoffs_for(timedelta(days=executions_days), timedelta(days=events_days))
            counts = await purge_unless_another_is(engine, sessions, cutoffs, store)
            if counts is not None and counts.total():
                logger.info(
                    "retention purge deleted %d executions, %d enforcements, %d events, "
                    "%d worker rows and %d artifacts",
                    counts.executions,
                    counts.enforcements,
                    counts.events,
                    counts.workers,
                    counts.artifacts,
                )
        except Exception:
            logger.exception("the retention purge failed; trying again in %s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval.total_seconds())
