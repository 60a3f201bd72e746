"""FIFO admission of an action's executions to its concurrency slots.

Each action with a concurrency policy has one `queue_stats` row, and every step here
first locks that row (`SELECT ... FOR UPDATE`) in the caller's transaction. Under the
lock an execution takes the next queue position as its row is written, so positions
follow the order rows commit; slots go to the lowest waiting positions, and the counters
change in the same transaction as the rows they count, so they are always exact:

    waiting  queue_position set, admitted_at and released_at null   -> queue_length
    holding  admitted_at set, released_at null                       -> active_count
    left     released_at set (it ran, or was cancelled while waiting) -> total_completed

and `total_enqueued = queue_length + active_count + total_completed`.

Locks are always taken queue row first, execution rows second, so admission never
deadlocks with itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Action, Execution, ExecutionStatus, QueueStats
from db.repositories import execution as executions
from db.repositories import policy as policies
from db.repositories.base import FRESH
from db.repositories.execution import RUNNABLE_STATUSES, Ending
from db.repositories.policy import EffectivePolicy


@dataclass(frozen=True)
class Ticket:
    """Where a new execution stands: its queue position, and whether it holds a slot already."""

    position: int
    admitted: bool
    # Executions waiting ahead of it when it was written.
    ahead: int


def _waiting(action_id: Any) -> ColumnElement[bool]:
    return and_(
        Execution.action_id == action_id,
        Execution.queue_position.is_not(None),
        Execution.admitted_at.is_(None),
        Execution.released_at.is_(None),
    )


async def lock_queue(session: AsyncSession, *, action_id: int) -> QueueStats:
    """The action's queue row, locked until the transaction ends (created when missing)."""
    query = select(QueueStats).where(QueueStats.action_id == action_id).with_for_update()
    stats = (await session.scalars(query, execution_options=FRESH)).one_or_none()
    if stats is None:
        await session.execute(
            insert(QueueStats)
            .values(action_id=action_id)
            .on_conflict_do_nothing(index_elements=[QueueStats.action_id])
        )
        stats = (await session.scalars(query, execution_options=FRESH)).one()
    return stats


async def take_ticket(session: AsyncSession, *, action: Action, policy: EffectivePolicy) -> Ticket:
    """Give the execution about to be written its queue position (and a slot, if one is free).

    Raises `PolicyViolation` naming the action, its limit and its queue length when the
    queue is full, or when the policy's method is `cancel` and every slot is taken.
    """
    limit = policy.concurrency_limit
    assert limit is not None, "only actions with a concurrency limit are admitted"
    stats = await lock_queue(session, action_id=action.id)
    # A free slot goes to the newcomer only when nobody waits: a waiting execution is older.
    admitted = stats.queue_length == 0 and stats.active_count < limit
    if not admitted:
        _refuse_if_full(action.ref, stats, policy, limit)
    ahead = stats.queue_length
    position = stats.total_enqueued + 1
    stats.total_enqueued = position
    stats.max_concurrent = limit
    if admitted:
        stats.active_count += 1
    else:
        stats.queue_length += 1
        if stats.oldest_enqueued_at is None:
            stats.oldest_enqueued_at = func.now()
    await session.flush()
    return Ticket(position=position, admitted=admitted, ahead=ahead)


def _refuse_if_full(ref: str, stats: QueueStats, policy: EffectivePolicy, limit: int) -> None:
    details = {
        "action": ref,
        "limit": limit,
        "active": stats.active_count,
        "queue_length": stats.queue_length,
        "max_queue_length": policy.max_queue_length,
    }
    if policy.cancel:
        raise errors.PolicyViolation(
            f"action {ref!r} already runs {stats.active_count} of its limit of {limit} "
            f"executions, and its policy refuses new ones instead of queueing them",
            details=details,
        )
    if stats.queue_length >= policy.max_queue_length:
        raise errors.PolicyViolation(
            f"the queue of action {ref!r} is full: {stats.queue_length} executions wait for "
            f"its {limit} slots (limit {limit}, max_queue_length {policy.max_queue_length})",
            details=details,
        )


async def grant(session: AsyncSession, *, action_id: int) -> list[int]:
    """Grant free slots to the lowest waiting positions; the ids of the executions admitted.

    Called after a release, and by the sweeper for slots a raised limit has freed.
    """
    locked = await _lock_for(session, QueueStats.action_id == action_id)
    if locked is None:
        return []
    stats, action_ref = locked
    return await _grant(session, stats, action_ref)


async def finish_and_release(
    session: AsyncSession,
    *,
    id: int,
    status: ExecutionStatus,
    result: Any = None,
    error: str | None = None,
) -> tuple[Ending | None, list[int]]:
    """End an admitted (or waiting) execution, give back its slot or place, grant the next.

    One transaction: the ending, the counters and the grants commit together or not at
    all. Returns the ending (None if it had ended already) and the executions admitted.
    """
    locked = await _lock_for_execution(session, id)
    ending = await executions.finish(session, id=id, status=status, result=result, error=error)
    if locked is None:
        return ending, []  # not admitted through a queue (or its action is gone)
    stats, action_ref = locked
    await _release(session, stats, id)
    return ending, await _grant(session, stats, action_ref)


async def release(session: AsyncSession, *, id: int) -> list[int]:
    """Give back the slot (or place) of an execution that has already ended; grant the next."""
    locked = await _lock_for_execution(session, id)
    if locked is None:
        return []
    stats, action_ref = locked
    await _release(session, stats, id)
    return await _grant(session, stats, action_ref)


async def _lock_for_execution(session: AsyncSession, id: int) -> tuple[QueueStats, str] | None:
    """The queue row of the execution's action, locked; None if it has no queue."""
    action_of_execution = select(Execution.action_id).where(Execution.id == id).scalar_subquery()
    return await _lock_for(session, QueueStats.action_id == action_of_execution)


async def _lock_for(
    session: AsyncSession, which: ColumnElement[bool]
) -> tuple[QueueStats, str] | None:
    query = (
        select(QueueStats, Action.ref)
        .join(Action, Action.id == QueueStats.action_id)
        .where(which)
        .with_for_update(of=QueueStats)
    )
    row = (await session.execute(query, execution_options=FRESH)).one_or_none()
    return None if row is None else (row[0], row[1])


async def _release(session: AsyncSession, stats: QueueStats, id: int) -> None:
    released = await session.scalar(
        update(Execution)
        .where(
            Execution.id == id,
            Execution.queue_position.is_not(None),
            Execution.released_at.is_(None),
        )
        .values(released_at=func.clock_timestamp())
        .returning(Execution.admitted_at.is_not(None))
    )
    if released is None:
        return  # released already (a second ending, or the sweeper got there first)
    if released:
        stats.active_count -= 1
    else:
        stats.queue_length -= 1
    stats.total_completed += 1
    await session.flush()


async def _grant(session: AsyncSession, stats: QueueStats, action_ref: str) -> list[int]:
    policy = await policies.effective_for_action(session, action_ref=action_ref)
    # The limit is read at each grant, so a changed policy applies to the grants that follow.
    limit = policy.concurrency_limit if policy is not None else None
    free = stats.queue_length if limit is None else limit - stats.active_count
    granted: list[int] = []
    if free > 0 and stats.queue_length > 0:
        next_in_line = (
            select(Execution.id)
            .where(_waiting(stats.action_id), Execution.status.in_(RUNNABLE_STATUSES))
            .order_by(Execution.queue_position)
            .limit(free)
            .scalar_subquery()
        )
        granted = list(
            await session.scalars(
                update(Execution)
                .where(Execution.id.in_(next_in_line))
                # One instant for the whole batch: they are granted together, after the lock.
                .values(admitted_at=func.statement_timestamp())
                .returning(Execution.id)
            )
        )
        stats.active_count += len(granted)
        stats.queue_length -= len(granted)
        stats.oldest_enqueued_at = (
            select(func.min(Execution.created)).where(_waiting(stats.action_id)).scalar_subquery()
        )
    if limit is not None:
        stats.max_concurrent = limit
    await session.flush()
    return sorted(granted)


@dataclass(frozen=True)
class Holder:
    """An execution holding a slot, as the sweeper checks it."""

    id: int
    status: ExecutionStatus


async def list_holders(
    session: AsyncSession, *, admitted_before: datetime, limit: int = 1000
) -> list[Holder]:
    """Executions that have held a slot since before `admitted_before`, oldest grant first."""
    query = (
        select(Execution.id, Execution.status)
        .where(
            Execution.admitted_at.is_not(None),
            Execution.released_at.is_(None),
            Execution.admitted_at < admitted_before,
        )
        .order_by(Execution.admitted_at)
        .limit(limit)
    )
    return [Holder(id, status) for id, status in (await session.execute(query)).all()]


async def actions_with_waiting(session: AsyncSession) -> list[int]:
    """The actions whose queue has executions waiting."""
    query = select(QueueStats.action_id).where(QueueStats.queue_length > 0)
    return list(await session.scalars(query))
