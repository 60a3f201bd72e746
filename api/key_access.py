"""Who may read, write and decrypt which keys (D6).

A pack key is checked as an item of its pack named by its key name; a system key as an
item of no pack named `system` (`attune.auth.execution_tokens.SYSTEM_KEYS`), so an
unscoped key grant or one with `refs: [system]` covers them, as an execution token's
does. A user key is its identity's own, to do anything with, whatever the identity's
permission sets; another identity's needs an unscoped key grant (no pack, no ref).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, literal, or_

from api.access import check_item, visible_clause
from attune.auth.execution_tokens import SYSTEM_KEYS
from attune.auth.permissions import Permissions, Resource, Verb
from attune.excerpts import shortened
from attune.keys.addresses import KeyAddress, Scope
from attune.keys.store import MAX_SHOWN_CHARS
from db.models import Key, OwnerType


def check_key(permissions: Permissions, caller: str, address: KeyAddress, verb: Verb) -> None:
    """404 for a key the caller may not view (as for a missing one), 403 naming `verb` for
    one it may view but not do `verb` on; nothing for the caller's own user keys."""
    if address.scope is Scope.USER and address.owner == caller:
        return
    check_item(
        permissions,
        Resource.KEY,
        verb,
        **_item(address),
        noun=f"key {shortened(str(address), MAX_SHOWN_CHARS)}",
    )


def _item(address: KeyAddress) -> dict[str, Any]:
    if address.scope is Scope.PACK:
        return {"pack": address.owner, "ref": address.name}
    if address.scope is Scope.SYSTEM:
        return {"pack": None, "ref": SYSTEM_KEYS}
    return {"pack": None, "ref": None}


def visible_keys(permissions: Permissions, caller: str) -> ColumnElement[bool]:
    """The WHERE clause keeping the keys the caller may view: its own user keys, and those
    its key grants reach."""
    pack = case((Key.owner_type == OwnerType.PACK, Key.owner), else_=None)
    ref = case(
        (Key.owner_type == OwnerType.PACK, Key.name),
        (Key.owner_type == OwnerType.SYSTEM, literal(SYSTEM_KEYS)),
        else_=None,
    )
    own = and_(Key.owner_type == OwnerType.IDENTITY, Key.owner == caller)
    return or_(own, visible_clause(permissions.visibility(Resource.KEY), pack=pack, ref=ref))
