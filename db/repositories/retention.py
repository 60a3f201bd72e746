"""Deleting old history in bounded batches: ended executions, the enforcements and events
nothing kept points at, and the rows of workers gone for days.

Nothing in flight is touched: an execution goes only once it has ended (a terminal status
and `ended_at` before the cutoff), an enforcement only once it was processed (or its rule
disabled) and every execution it started can go, an event only once every enforcement of
it can go. Each batch is one short transaction over at most `batch_size` rows, the oldest
first by (created, id), an index of each table; a batch carries on after the last key the
one before deleted, so rows kept are read once, and rows another transaction holds are
skipped, not waited for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Enforcement, Event, Execution, Worker
from db.models.enums import TERMINAL_EXECUTION_STATUSES, EnforcementStatus

HistoryRow = type[Execution] | type[Enforcement] | type[Event]


@dataclass(frozen=True)
class Cutoffs:
    """Executions that ended before `executions`, and the enforcements created before it;
    events created before `events`; None keeps that kind forever."""

    executions: datetime | None
    events: datetime | None


def execution_may_go(cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        Execution.status.in_(TERMINAL_EXECUTION_STATUSES),
        Execution.ended_at.is_not(None),
        Execution.ended_at < cutoff,
    )


def enforcement_may_go(cutoff: datetime) -> ColumnElement[bool]:
    """Old, no longer waiting to start its execution, and every execution it started may go
    (or is gone)."""
    kept_execution = exists().where(
        Execution.enforcement_id == Enforcement.id, not_(execution_may_go(cutoff))
    )
    return and_(
        Enforcement.created < cutoff,
        Enforcement.status != EnforcementStatus.CREATED,
        not_(kept_execution),
    )


def event_may_go(cutoffs: Cutoffs) -> ColumnElement[bool]:
    """Old, and every enforcement of it may go (or is gone); with executions kept forever,
    only events no enforcement points at."""
    assert cutoffs.events is not None
    if cutoffs.executions is None:
        kept_enforcement = exists().where(Enforcement.event_id == Event.id)
    else:
        kept_enforcement = exists().where(
            Enforcement.event_id == Event.id, not_(enforcement_may_go(cutoffs.executions))
        )
    return and_(Event.created < cutoffs.events, not_(kept_enforcement))


def worker_may_go(cutoff: datetime) -> ColumnElement[bool]:
    """A worker that stopped, or last beat, before `cutoff`."""
    return or_(
        Worker.stopped < cutoff, func.coalesce(Worker.last_heartbeat, Worker.created) < cutoff
    )


Key = tuple[datetime, int]


async def delete_batch(
    session: AsyncSession,
    model: HistoryRow,
    may_go: ColumnElement[bool],
    *,
    created_before: datetime,
    after: Key | None,
    batch_size: int,
) -> tuple[int, Key | None]:
    """Delete up to `batch_size` of the rows created before `created_before` that may go,
    the oldest first after the key (created, id) `after`; how many went and the key of the
    last (None when none was left). The caller commits."""
    window = [model.created < created_before, may_go]
    if after is not None:
        window.append(tuple_(model.created, model.id) > tuple_(*after))
    doomed = (
        select(model.id)
        .where(*window)
        .order_by(model.created, model.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    deleted = await session.execute(
        delete(model).where(model.id.in_(doomed)).returning(model.created, model.id)
    )
    keys = [(created, id) for created, id in deleted]
    return len(keys), max(keys, default=None)


async def count_may_go(
    session: AsyncSession, model: HistoryRow, may_go: ColumnElement[bool], created_before: datetime
) -> int:
    """How many rows a purge would delete now (a dry run)."""
    counted = select(func.count()).select_from(model).where(model.created < created_before, may_go)
    return int(await session.scalar(counted) or 0)


async def delete_old_workers(session: AsyncSession, cutoff: datetime, *, dry_run: bool) -> int:
    """Delete (or count) the rows of workers stopped or silent since before `cutoff`."""
    if dry_run:
        counted = select(func.count()).select_from(Worker).where(worker_may_go(cutoff))
        return int(await session.scalar(counted) or 0)
    deleted = await session.scalars(
        delete(Worker).where(worker_may_go(cutoff)).returning(Worker.id)
    )
    return len(list(deleted))
