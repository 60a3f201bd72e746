"""Executions: persistence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Action, Execution, ExecutionStatus, Pack
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


@dataclass(frozen=True)
class ClaimedRun:
    """What a worker needs to run a claimed execution: its inputs and its action's recipe.

    `runner_type` is None when the action has been deleted since the execution was written.
    """

    execution_id: int
    action_ref: str
    parameters: dict[str, Any]
    runner_type: str | None
    entry_point: str
    timeout_seconds: int | None
    parameters_schema: dict[str, Any]
    pack_path: str | None
    # The secret parameters' values, sealed (see attune.engine.secret_parameters).
    sealed_secrets: str | None = None


async def claim_for_run(
    session: AsyncSession, *, id: int, workflow_id: str, scheduled_at: datetime
) -> ClaimedRun | None:
    """Move a runnable execution to `running` and read its action, or None if not runnable.

    One conditional statement, so two deliveries of the same run (or a run racing a cancel)
    cannot both start the action; and one round trip, because every run pays for it.
    """
    claimed = (
        update(Execution)
        .where(Execution.id == id, Execution.status.in_(RUNNABLE_STATUSES))
        .values(
            status=ExecutionStatus.RUNNING,
            workflow_id=func.coalesce(Execution.workflow_id, workflow_id),
            scheduled_at=func.coalesce(Execution.scheduled_at, scheduled_at),
            started_at=func.clock_timestamp(),
        )
        .returning(
            Execution.id,
            Execution.action_id,
            Execution.action_ref,
            Execution.parameters,
            Execution.secret_parameters,
        )
        .cte("claimed")
    )
    query = select(
        claimed.c.id,
        claimed.c.action_ref,
        claimed.c.parameters,
        Action.runner_type,
        Action.entry_point,
        Action.timeout_seconds,
        Action.parameters,
        Pack.path,
        claimed.c.secret_parameters,
    ).select_from(
        claimed.outerjoin(Action, Action.id == claimed.c.action_id).outerjoin(
            Pack, Pack.id == Action.pack_id
        )
    )
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    return ClaimedRun(
        execution_id=row[0],
        action_ref=row[1],
        parameters=row[2],
        runner_type=row[3],
        entry_point=row[4] or "",
        timeout_seconds=row[5],
        parameters_schema=row[6] or {},
        pack_path=row[7],
        sealed_secrets=row[8],
    )


@dataclass(frozen=True)
class Ending:
    status: ExecutionStatus
    error: str | None


async def finish(
    session: AsyncSession,
    *,
    id: int,
    status: ExecutionStatus,
    result: Any = None,
    error: str | None = None,
) -> Ending | None:
    """Record a terminal status unless the execution already has one; None if it had.

    The first ending wins: a late "worker lost" never overwrites a recorded completion.
    """
    assert status in TERMINAL_EXECUTION_STATUSES, f"{status} is not terminal"
    statement = (
        update(Execution)
        .where(Execution.id == id, Execution.status.not_in(TERMINAL_EXECUTION_STATUSES))
        .values(status=status, result=result, error=error, ended_at=func.clock_timestamp())
        .returning(Execution.status, Execution.error)
    )
    row = (await session.execute(statement)).one_or_none()
    return Ending(row[0], row[1]) if row is not None else None


async def mark_scheduled(session: AsyncSession, *, ids: list[int]) -> list[int]:
    """Record that these executions' workflows exist, unless a worker got there first.

    Returns those of them that already hold an admission slot (see `admission`), so a
    grant made before the workflow existed can still reach it.
    """
    statement = (
        update(Execution)
        .where(Execution.id.in_(ids), Execution.status == ExecutionStatus.REQUESTED)
        .values(status=ExecutionStatus.SCHEDULED, scheduled_at=func.clock_timestamp())
        .returning(Execution.id, Execution.admitted_at.is_not(None))
    )
    return sorted(id for id, admitted in (await session.execute(statement)).all() if admitted)


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

    Candidates for the reconciler: their workflow may never have been started. A
    workflow's children are not: their parent starts them, even after a crash, since the
    request is in its history.
    """
    query = (
        select(Execution)
        .where(
            Execution.status == ExecutionStatus.REQUESTED,
            Execution.created < created_before,
            Execution.parent_id.is_(None),
        )
        .order_by(Execution.id)
        .limit(limit)
    )
    return list((await session.scalars(query, execution_options=FRESH)).all())


async def list_stranded_children(
    session: AsyncSession, *, created_before: datetime, limit: int = DEFAULT_LIMIT
) -> list[int]:
    """Children still `requested` whose parent has ended: no one will start them now."""
    parent = aliased(Execution)
    query = (
        select(Execution.id)
        .join(parent, parent.id == Execution.parent_id)
        .where(
            Execution.status == ExecutionStatus.REQUESTED,
            Execution.created < created_before,
            parent.status.in_(TERMINAL_EXECUTION_STATUSES),
        )
        .order_by(Execution.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def list_live_of_runner(
    session: AsyncSession, *, runner_type: str, after: int = 0, limit: int = DEFAULT_LIMIT
) -> list[int]:
    """The ids (above `after`) of the executions of one runner whose workflow exists and
    has not ended, in id order."""
    query = (
        select(Execution.id)
        .join(Action, Action.id == Execution.action_id)
        .where(
            Execution.id > after,
            Action.runner_type == runner_type,
            Execution.status.in_(
                (ExecutionStatus.SCHEDULED, ExecutionStatus.RUNNING, ExecutionStatus.CANCELING)
            ),
        )
        .order_by(Execution.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
