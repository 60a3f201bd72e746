"""Permission sets through the API: custom ones made, changed and deleted; the built-in
ones (`admin`, `operator`, `observer`) and those a pack ships only read.

A pack's sets (`<pack>.NAME`) are its folder's: the API refuses to change them (409), since
registering the pack again would undo the change. Every change is audited and tells every
API process to forget the tokens it trusts, whose permissions it may have cached.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.auth import audit_trail
from attune.auth.identities import Actor
from attune.auth.permissions import parse_grants
from attune.auth.revocation import announce
from db.models import PermissionSet
from db.repositories import permission_set

SET_CREATE = "permission_set.create"
SET_UPDATE = "permission_set.update"
SET_DELETE = "permission_set.delete"
# Custom names: no dot, which is how a pack's sets are told apart (`<pack>.NAME`).
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")


def check_name(name: str) -> str:
    if NAME.fullmatch(name) is None:
        raise errors.ValidationError(
            "name: a permission set's name is 1 to 100 of a-z, 0-9, '_' and '-', starting with "
            "a letter or digit (a pack's sets are named <pack>.NAME by their pack)",
            details={"field": "name"},
        )
    return name


async def create_set(
    session: AsyncSession,
    *,
    name: str,
    description: str | None,
    grants: Sequence[Any],
    actor: Actor,
) -> PermissionSet:
    checked = [grant.to_json() for grant in parse_grants(list(grants))]
    if await permission_set.repository.find_by_key(session, check_name(name)) is not None:
        raise errors.Conflict(f"permission set {name!r} exists", details={"name": name})
    row = await permission_set.repository.create(
        session, ref=name, label=name, description=description, grants=checked
    )
    await _audit(session, SET_CREATE, actor, row)
    return row


async def update_set(
    session: AsyncSession,
    name: str,
    *,
    description: str | None,
    grants: Sequence[Any] | None,
    actor: Actor,
) -> PermissionSet:
    row = _changeable(await permission_set.repository.get_by_key(session, name))
    changes: dict[str, Any] = {}
    if description is not None:
        changes["description"] = description
    if grants is not None:
        changes["grants"] = [grant.to_json() for grant in parse_grants(list(grants))]
    updated = await permission_set.repository.update(session, id=row.id, changes=changes)
    await _audit(session, SET_UPDATE, actor, updated)
    return updated


async def delete_set(session: AsyncSession, name: str, *, actor: Actor) -> None:
    row = _changeable(await permission_set.repository.get_by_key(session, name))
    await permission_set.repository.delete(session, id=row.id)
    await _audit(session, SET_DELETE, actor, row)


def _changeable(row: PermissionSet) -> PermissionSet:
    if row.builtin:
        raise errors.Conflict(
            f"permission set {row.ref!r} is built in: it cannot be changed or deleted; "
            "make a set of your own",
            details={"name": row.ref},
        )
    if "." in row.ref:
        pack = row.ref.partition(".")[0]
        raise errors.Conflict(
            f"permission set {row.ref!r} belongs to pack {pack!r}: change its file "
            f"(permission_sets/{row.ref.partition('.')[2]}.yaml) and register the pack",
            details={"name": row.ref, "pack": pack},
        )
    return row


async def _audit(session: AsyncSession, action: str, actor: Actor, row: PermissionSet) -> None:
    await audit_trail.record(
        session,
        action=action,
        actor=actor.login,
        target=row.ref,
        details={"grants": row.grants},
        source=actor.source,
    )
    # Tokens' permissions may be cached in every API process: they must be read again.
    await announce(session, action)
