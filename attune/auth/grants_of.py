"""The permissions an identity holds: the grants of every permission set assigned to it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attune.auth.permissions import BUILT_IN, Grant, Permissions, parse_grants
from db.models import PermissionAssignment, PermissionSet


async def permissions_of(session: AsyncSession, identity_id: int) -> Permissions:
    """The union of the grants of the identity's permission sets (none: nothing allowed).

    One query. A built-in set's grants are the code's (`BUILT_IN`), not the stored copy:
    they hold what JSON does not carry (`observer`'s view of packs does not pass down to
    keys). A set whose stored grants no longer parse fails loudly rather than granting
    less or more than it says.
    """
    rows = await session.execute(
        select(PermissionSet.ref, PermissionSet.builtin, PermissionSet.grants)
        .join(PermissionAssignment, PermissionAssignment.permission_set_id == PermissionSet.id)
        .where(PermissionAssignment.identity_id == identity_id)
    )
    grants: list[Grant] = []
    for ref, builtin, stored in rows:
        grants.extend(BUILT_IN[ref][1] if builtin and ref in BUILT_IN else parse_grants(stored))
    return Permissions.of(grants)
