"""Executions: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Execution, ExecutionStatus
from db.repositories.base import DEFAULT_LIMIT, Repository

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
