"""Permission assignments: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PermissionAssignment
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(
    PermissionAssignment,
    noun="permission assignment",
    order_by=("identity_id", "permission_set_id"),
)


async def assign(
    session: AsyncSession, *, identity_id: int, permission_set_id: int
) -> PermissionAssignment:
    """Grant the permission set to the identity; `Conflict` when it already has it."""
    return await repository.create(
        session, identity_id=identity_id, permission_set_id=permission_set_id
    )


async def unassign(session: AsyncSession, *, identity_id: int, permission_set_id: int) -> bool:
    """Take the permission set from the identity; says whether it had it."""
    found = await repository.find_first(
        session, identity_id=identity_id, permission_set_id=permission_set_id
    )
    return found is not None and await repository.delete(session, id=found.id)


async def list_by_identity(
    session: AsyncSession, *, identity_id: int, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> list[PermissionAssignment]:
    """The identity's assignments, ordered by permission set id."""
    return await repository.list(session, identity_id=identity_id, limit=limit, offset=offset)
