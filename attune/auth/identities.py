"""Identities as the API manages them: create, change, delete, with their permission sets.

Each change writes its audit row, and a change that can make a token invalid (disabled,
deleted, permission sets changed) announces itself to every API process
(`attune.auth.revocation`), all in the caller's transaction. The last enabled identity
holding `admin` can be neither disabled, deleted nor stripped of `admin`: an installation
cannot lock itself out through the API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.auth import audit_trail, revocation
from attune.auth.admin import ADMIN_SET
from attune.auth.passwords import hash_password
from attune.excerpts import excerpt
from db.models import Identity, PermissionAssignment, PermissionSet
from db.repositories import identity as identities
from db.repositories import permission_set as permission_sets

LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,127}$")
LOGIN_RULE = (
    "1 to 128 characters: lowercase letters, digits, '_', '.', '@' and '-', "
    "starting with a letter or digit"
)


@dataclass(frozen=True)
class IdentityView:
    """An identity with the permission sets it holds, ordered by name."""

    identity: Identity
    sets: list[PermissionSet]


@dataclass(frozen=True)
class Actor:
    """Who made a change and from where, for the audit trail."""

    login: str | None
    source: str | None


def check_login(login: str, *, field: str = "login") -> None:
    """`ValidationError` naming `field` unless `login` follows `LOGIN_PATTERN`."""
    if not LOGIN_PATTERN.fullmatch(login):
        raise errors.ValidationError(
            f"{field}: {excerpt(login)} is not a login: {LOGIN_RULE}", details={"field": field}
        )


async def view(session: AsyncSession, identity: Identity) -> IdentityView:
    """The identity with its permission sets."""
    held = await permission_sets.list_for_identity(session, identity_id=identity.id)
    return IdentityView(identity=identity, sets=held)


async def create_identity(
    session: AsyncSession,
    *,
    login: str,
    display_name: str | None,
    password: str | None,
    enabled: bool,
    sets: Sequence[str],
    actor: Actor,
) -> IdentityView:
    """A new identity; 422 for a bad login, password or unknown set, 409 when it exists."""
    check_login(login)
    chosen = await _resolve_sets(session, sets)
    password_hash = await hash_password(password) if password is not None else None
    if await identities.repository.find_by_key(session, login) is not None:
        raise errors.Conflict(f"identity {login!r} exists already", details={"field": "login"})
    created = await identities.repository.create(
        session,
        login=login,
        display_name=display_name,
        password_hash=password_hash,
        frozen=not enabled,
    )
    for chosen_set in chosen:
        session.add(PermissionAssignment(identity_id=created.id, permission_set_id=chosen_set.id))
    await session.flush()
    details = {"enabled": enabled, "permission_sets": [s.ref for s in chosen]}
    await _audit(session, audit_trail.IDENTITY_CREATE, actor, login, details)
    return IdentityView(identity=created, sets=sorted(chosen, key=lambda s: s.ref))


async def update_identity(
    session: AsyncSession, *, login: str, changes: Mapping[str, Any], actor: Actor
) -> IdentityView:
    """Change the fields given (display_name, password, enabled, permission_sets)."""
    found = await identities.repository.get_by_key(session, login)
    columns: dict[str, Any] = {}
    if "display_name" in changes:
        columns["display_name"] = changes["display_name"]
    if changes.get("password") is not None:
        columns["password_hash"] = await hash_password(changes["password"])
    elif "password" in changes:
        columns["password_hash"] = None  # an explicit null: no password login any more
    if changes.get("enabled") is not None:
        columns["frozen"] = not changes["enabled"]
    held = await permission_sets.list_for_identity(session, identity_id=found.id)
    wanted = held
    if changes.get("permission_sets") is not None:
        wanted = await _resolve_sets(session, changes["permission_sets"])
    loses_admin = _holds_admin(held) and (columns.get("frozen") or not _holds_admin(wanted))
    if loses_admin and not found.frozen:
        await _refuse_last_admin(session, found, "disabled or lose the admin set")
    updated = await identities.repository.update(session, id=found.id, changes=columns)
    if wanted is not held:
        await _replace_sets(session, found.id, wanted)
    shown = {k: v for k, v in changes.items() if k != "password"}
    if "password" in changes:
        shown["password"] = "changed" if changes["password"] is not None else "removed"
    await _audit(session, audit_trail.IDENTITY_UPDATE, actor, login, shown)
    if "frozen" in columns or wanted is not held:
        await revocation.announce(session, audit_trail.IDENTITY_UPDATE)
    return IdentityView(identity=updated, sets=sorted(wanted, key=lambda s: s.ref))


async def delete_identity(session: AsyncSession, *, login: str, actor: Actor) -> None:
    """Delete the identity and (by the foreign keys) its tokens and assignments."""
    found = await identities.repository.get_by_key(session, login)
    held = await permission_sets.list_for_identity(session, identity_id=found.id)
    if _holds_admin(held) and not found.frozen:
        await _refuse_last_admin(session, found, "deleted")
    await identities.repository.delete(session, id=found.id)
    await _audit(session, audit_trail.IDENTITY_DELETE, actor, login, {})
    await revocation.announce(session, audit_trail.IDENTITY_DELETE)


async def _resolve_sets(session: AsyncSession, names: Sequence[str]) -> list[PermissionSet]:
    """The named sets, each once; 422 naming `permission_sets[i]` for one that does not exist."""
    found: dict[str, PermissionSet] = {}
    for index, name in enumerate(names):
        if name in found:
            continue
        chosen = await permission_sets.repository.find_by_key(session, name)
        if chosen is None:
            field = f"permission_sets[{index}]"
            raise errors.ValidationError(
                f"{field}: no permission set {excerpt(name)}", details={"field": field}
            )
        found[name] = chosen
    return list(found.values())


async def _replace_sets(
    session: AsyncSession, identity_id: int, wanted: Sequence[PermissionSet]
) -> None:
    await session.execute(
        delete(PermissionAssignment).where(PermissionAssignment.identity_id == identity_id)
    )
    for chosen in wanted:
        session.add(PermissionAssignment(identity_id=identity_id, permission_set_id=chosen.id))
    await session.flush()


def _holds_admin(sets: Sequence[PermissionSet]) -> bool:
    return any(held.ref == ADMIN_SET for held in sets)


async def _refuse_last_admin(session: AsyncSession, identity: Identity, change: str) -> None:
    """409 when no other enabled identity holds `admin`.

    The `admin` set's row is locked first, so two requests taking away two admins at the
    same moment are decided one after the other, and cannot both succeed.
    """
    admin_set = (
        await session.scalars(
            select(PermissionSet).where(PermissionSet.ref == ADMIN_SET).with_for_update()
        )
    ).one()
    others = await session.scalar(
        select(func.count())
        .select_from(PermissionAssignment)
        .join(Identity, Identity.id == PermissionAssignment.identity_id)
        .where(
            PermissionAssignment.permission_set_id == admin_set.id,
            Identity.id != identity.id,
            Identity.frozen.is_(False),
        )
    )
    if not others:
        raise errors.Conflict(
            f"identity {identity.login!r} is the last enabled identity holding the admin "
            f"permission set, so it cannot be {change}: that would leave no one able to "
            "manage this installation; give another identity admin first",
            details={"login": identity.login},
        )


async def _audit(
    session: AsyncSession, action: str, actor: Actor, target: str, details: dict[str, Any]
) -> None:
    await audit_trail.record(
        session,
        action=action,
        actor=actor.login,
        target=target,
        details=details,
        source=actor.source,
    )
