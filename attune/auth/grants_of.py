"""The permissions an identity holds: the grants of every permission set assigned to it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attune.auth.permissions import Permissions, parse_grants
from db.models import PermissionAssignment, PermissionSet


async def permissions_of(session: AsyncSession, identity_id: int) -> Permissions:
    """The union of the grants of the identity's permission sets (none: nothing allowed).

    One query. A set whose stored grants no longer parse (written by an older version)
    fails loudly rather than granting less or more than it says.
    """
    rows = await session.scalars(
        select(PermissionSet.grants)
        .join(PermissionAssignment, PermissionAssignment.permission_set_id == PermissionSet.id)
        .where(PermissionAssignment.identity_id == identity_id)
    )
    return Permissions.of(grant for grants in rows for grant in parse_grants(grants))
