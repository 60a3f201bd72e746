"""Workers: persistence."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.models import Worker, WorkerStatus, WorkerType
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Worker, noun="worker", order_by=("name",))


async def list_by_status(
    session: AsyncSession, *, status: WorkerStatus, limit: int = DEFAULT_LIMIT
) -> list[Worker]:
    """The workers last reported in this status, by name."""
    return await repository.list(session, status=status, limit=limit)


async def list_by_type(
    session: AsyncSession, *, worker_type: WorkerType, limit: int = DEFAULT_LIMIT
) -> list[Worker]:
    """The workers of one type (local, remote, container), by name."""
    return await repository.list(session, worker_type=worker_type, limit=limit)


async def heartbeat(session: AsyncSession, *, id: int) -> Worker:
    """Record a heartbeat at the database's clock now; `NotFound` for a missing worker."""
    return await repository.stamp_now(session, id=id, column="last_heartbeat")


# Silent for this many of its own heartbeat intervals, an active worker is lost.
LOST_AFTER_BEATS = 3


class WorkerState(StrEnum):
    """What a worker row means now: `alive` beats on time, `lost` went silent, `inactive`
    stopped cleanly."""

    ALIVE = "alive"
    LOST = "lost"
    INACTIVE = "inactive"


def _beating() -> ColumnElement[bool]:
    """Active, and its last heartbeat within LOST_AFTER_BEATS of its intervals."""
    silence_allowed = func.make_interval(
        0, 0, 0, 0, 0, 0, Worker.heartbeat_seconds * LOST_AFTER_BEATS
    )
    return and_(
        Worker.status != WorkerStatus.INACTIVE,
        # now(): one transaction sees one moment, so its counts and states agree.
        Worker.last_heartbeat > func.now() - silence_allowed,
    )


def _state() -> ColumnElement[str]:
    return case(
        (Worker.status == WorkerStatus.INACTIVE, WorkerState.INACTIVE.value),
        (_beating(), WorkerState.ALIVE.value),
        else_=WorkerState.LOST.value,
    )


async def list_newest_first(
    session: AsyncSession,
    *,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
    state: WorkerState | None = None,
) -> list[tuple[Worker, WorkerState]]:
    """Worker rows newest first, each with its state now, paged by `before_id`."""
    query = select(Worker, _state()).order_by(Worker.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Worker.id < before_id)
    if state is not None:
        query = query.where(_state() == state.value)
    rows = await session.execute(query)
    return [(worker, WorkerState(state)) for worker, state in rows]


async def count_alive(session: AsyncSession | AsyncConnection) -> int:
    """How many workers beat on time now."""
    count = await session.scalar(select(func.count()).select_from(Worker).where(_beating()))
    return int(count or 0)


async def mark_stopped(session: AsyncSession, *, id: int) -> None:
    """A clean stop: `inactive`, `stopped` at the database's clock."""
    await session.execute(
        update(Worker)
        .where(Worker.id == id)
        .values(status=WorkerStatus.INACTIVE, stopped=func.clock_timestamp())
    )
