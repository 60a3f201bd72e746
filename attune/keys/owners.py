"""Whose key a request means: the scope, and the `pack` or `user` that owns it there.

A system key has no owner; a pack key is owned by a pack (its ref); a user key by an
identity (its login), the caller's own unless another login is named. Giving an owner a
scope does not take (a pack for a user key) is refused, not ignored: the caller meant
some other key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.excerpts import excerpt
from attune.keys.addresses import KeyAddress, Scope, check_name
from db.models import OwnerType
from db.repositories import identity as identities
from db.repositories import pack as packs

MAX_OWNER_CHARS = 255
"""The longest pack ref or login accepted as an owner."""


@dataclass(frozen=True)
class OwnerFilter:
    """Which keys a list holds: these owner types, and only `owner`'s when it is given."""

    owner_types: tuple[OwnerType, ...]
    owner: str | None = None


def key_address(
    scope: Scope, name: str, *, pack: str | None, user: str | None, caller: str
) -> KeyAddress:
    """The address of one key; `ValidationError` naming the field at fault."""
    check_name(name)
    return KeyAddress(scope, _owner(scope, pack=pack, user=user, caller=caller), name)


def owner_filter(
    scope: Scope | None, *, pack: str | None, user: str | None, caller: str
) -> OwnerFilter:
    """What a list filtered by scope, pack and user holds.

    No scope: every scope, or the one `pack` or `user` implies. Scope `pack` without a
    pack: every pack's keys; scope `user` without a user: the caller's.
    """
    if scope is None:
        if pack is not None and user is not None:
            raise errors.ValidationError(
                "user: give pack or user, not both (a key has one owner)",
                details={"field": "user"},
            )
        scope = Scope.PACK if pack is not None else Scope.USER if user is not None else None
    if scope is None:
        return OwnerFilter(tuple(kind.owner_type for kind in Scope))
    if scope is Scope.PACK and pack is None:
        _refuse_other_owner(scope, user=user)
        return OwnerFilter((OwnerType.PACK,))
    return OwnerFilter((scope.owner_type,), _owner(scope, pack=pack, user=user, caller=caller))


async def check_owner_exists(session: AsyncSession, address: KeyAddress) -> None:
    """Refuse, naming the field, a key for a pack or identity Attune does not know."""
    if (
        address.scope is Scope.PACK
        and await packs.repository.find_by_key(session, address.owner) is None
    ):
        raise errors.ValidationError(
            f"pack: no pack {excerpt(address.owner)} is registered", details={"field": "pack"}
        )
    if (
        address.scope is Scope.USER
        and await identities.repository.find_by_key(session, address.owner) is None
    ):
        raise errors.ValidationError(
            f"user: no identity has the login {excerpt(address.owner)}",
            details={"field": "user"},
        )


def _owner(scope: Scope, *, pack: str | None, user: str | None, caller: str) -> str:
    if scope is Scope.SYSTEM:
        _refuse_other_owner(scope, pack=pack, user=user)
        return ""
    if scope is Scope.PACK:
        _refuse_other_owner(scope, user=user)
        if not pack:
            raise errors.ValidationError(
                "pack: a pack key needs the pack's ref (?pack=<ref>)", details={"field": "pack"}
            )
        return _bounded("pack", pack)
    _refuse_other_owner(scope, pack=pack)
    if user == "":
        raise errors.ValidationError(
            "user: empty; leave it out for your own keys", details={"field": "user"}
        )
    return _bounded("user", caller if user is None else user)


def _refuse_other_owner(scope: Scope, **owners: str | None) -> None:
    for field, value in owners.items():
        if value is not None:
            raise errors.ValidationError(
                f"{field}: a {scope.value} key has no {field} owner; leave {field} out",
                details={"field": field},
            )


def _bounded(field: str, owner: str) -> str:
    if len(owner) > MAX_OWNER_CHARS:
        raise errors.ValidationError(
            f"{field}: at most {MAX_OWNER_CHARS} characters", details={"field": field}
        )
    return owner
