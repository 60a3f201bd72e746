"""Permission sets: persistence."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PermissionAssignment, PermissionSet
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(PermissionSet, noun="permission set", order_by=("ref",), natural_key="ref")


async def list_for_identity(
    session: AsyncSession, *, identity_id: int, limit: int = DEFAULT_LIMIT
) -> list[PermissionSet]:
    """The permission sets assigned to the identity, ordered by ref."""
    assigned = select(PermissionAssignment.permission_set_id).where(
        PermissionAssignment.identity_id == identity_id
    )
    return await repository.list(session, where=[PermissionSet.id.in_(assigned)], limit=limit)
