"""Artifacts: persistence."""

from __future__ import annotations

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Artifact, ArtifactType, OwnerType, RetentionPolicy
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Artifact, noun="artifact", newest_first=True)


async def list_by_scope(
    session: AsyncSession,
    *,
    scope: OwnerType,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Artifact]:
    """The artifacts in this scope (any owner), newest first, paged by `before_id`."""
    return await repository.list(session, scope=scope, limit=limit, before_id=before_id)


async def list_by_owner(
    session: AsyncSession,
    *,
    owner: str,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Artifact]:
    """The artifacts of this owner (in any scope), newest first, paged by `before_id`."""
    return await repository.list(session, owner=owner, limit=limit, before_id=before_id)


async def list_by_type(
    session: AsyncSession,
    *,
    artifact_type: ArtifactType,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Artifact]:
    """The artifacts of this type, newest first, paged by `before_id`."""
    return await repository.list(
        session, artifact_type=artifact_type, limit=limit, before_id=before_id
    )


async def list_by_scope_and_owner(
    session: AsyncSession,
    *,
    scope: OwnerType,
    owner: str,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Artifact]:
    """The artifacts of one owner in one scope, newest first, paged by `before_id`."""
    return await repository.list(
        session, scope=scope, owner=owner, limit=limit, before_id=before_id
    )


async def list_by_retention_policy(
    session: AsyncSession,
    *,
    retention_policy: RetentionPolicy,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Artifact]:
    """The artifacts kept under this retention policy, newest first, paged by `before_id`."""
    return await repository.list(
        session, retention_policy=retention_policy, limit=limit, before_id=before_id
    )


async def lock_execution(session: AsyncSession, execution_id: int) -> None:
    """Hold, until the transaction ends, the lock under which an execution's artifacts
    are counted and added (`attune.artifacts.saving`)."""
    key = func.hashtextextended(literal(f"artifacts of execution {execution_id}"), 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def execution_bytes(session: AsyncSession, execution_id: int) -> int:
    """How many bytes of artifacts the execution has now."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Artifact.size_bytes), 0)).where(
            Artifact.execution_id == execution_id
        )
    )
    return int(total or 0)
