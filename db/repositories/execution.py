"""Executions: persistence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Execution, ExecutionStatus
from db.models.enums import TERMINAL_EXECUTION_STATUSES
from db.repositories.base import DEFAULT_LIMIT, FRESH, Repository

# Statuses from which a run may begin: anything not yet running, cancelling or over.
RUNNABLE_STATUSES = (
    ExecutionStatus.REQUESTED,
    ExecutionStatus.SCHEDULING,
    ExecutionStatus.SCHEDULED,
)

# The natural key is the Temporal workflow id: `find_by_key(session, workflow_id)`.
repository = Repository(Execution, noun="execution", newest_first=True, natural_key="workflow_id")


async def list_by_status(
    session: AsyncSession,
    *,
    status: ExecutionStatus,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Execution]:
    """The executions in this status, newest first, paged by `before_id`."""
    return await repository.list(session, status=status, limit=limit, before_id=before_id)


async def list_by_enforcement(
    session: AsyncSession,
    *,
    enforcement_id: int,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Execution]:
    """The executions of the enforcement with this id, newest first, paged by `before_id`."""
    return await repository.list(
        session, enforcement_id=enforcement_id, limit=limit, before_id=before_id
    )


async def list_children(
    session: AsyncSession,
    *,
    parent_id: int,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Execution]:
    """The direct children of the parent execution, newest first, paged by `before_id`."""
    return await repository.list(session, parent_id=parent_id, limit=limit, before_id=before_id)


async def claim_for_run(
    session: AsyncSession, *, id: int, workflow_id: str, scheduled_at: datetime
) -> Execution | None:
    """Move a runnable execution to `running` in one UPDATE, or None if it is not runnable.

    One conditional statement, so two deliveries of the same run (or a run racing a cancel)
    cannot both start the action.
    """
    statement = (
        update(Execution)
        .where(Execution.id == id, Execution.status.in_(RUNNABLE_STATUSES))
        .values(
            status=ExecutionStatus.RUNNING,
            workflow_id=func.coalesce(Execution.workflow_id, workflow_id),
            scheduled_at=func.coalesce(Execution.scheduled_at, scheduled_at),
            started_at=func.clock_timestamp(),
        )
        .returning(Execution)
    )
    return (await session.scalars(statement, execution_options=FRESH)).one_or_none()


async def finish(
    session: AsyncSession,
    *,
    id: int,
    status: ExecutionStatus,
    result: Any = None,
    error: str | None = None,
) -> Execution | None:
    """Record a terminal status unless the execution already has one; None if it had.

    The first ending wins: a late "worker lost" never overwrites a recorded completion.
    """
    assert status in TERMINAL_EXECUTION_STATUSES, f"{status} is not terminal"
    statement = (
        update(Execution)
        .where(Execution.id == id, Execution.status.not_in(TERMINAL_EXECUTION_STATUSES))
        .values(status=status, result=result, error=error, ended_at=func.clock_timestamp())
        .returning(Execution)
    )
    return (await session.scalars(statement, execution_options=FRESH)).one_or_none()


async def mark_canceling(session: AsyncSession, *, id: int) -> Execution | None:
    """Move a live execution to `canceling`; None if it has already ended."""
    statement = (
        update(Execution)
        .where(Execution.id == id, Execution.status.not_in(TERMINAL_EXECUTION_STATUSES))
        .values(status=ExecutionStatus.CANCELING)
        .returning(Execution)
    )
    return (await session.scalars(statement, execution_options=FRESH)).one_or_none()


async def list_orphans(
    session: AsyncSession, *, created_before: datetime, limit: int = DEFAULT_LIMIT
) -> list[Execution]:
    """Executions still `requested` that were written before `created_before`, oldest first.

    Candidates for the reconciler: their workflow may never have been started.
    """
    query = (
        select(Execution)
        .where(
            Execution.status == ExecutionStatus.REQUESTED,
            Execution.created < created_before,
        )
        .order_by(Execution.id)
        .limit(limit)
    )
    return list((await session.scalars(query, execution_options=FRESH)).all())
