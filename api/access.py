"""Access checks for routes: the gate each route declares, items, and list filters.

Deny by default (D6). A route declares what it needs with `requires(resource, verb)`: a
caller holding that verb on no item of the resource is refused there (403 naming the
permission). An item is then checked against the caller's grants with `check_item`: one
it may not view is a 404, exactly as a missing one, so ids do not tell what exists; one it
may view but not act on is a 403. Lists filter to what the caller may view
(`visible_clause`), so an operator of pack `a` listing executions sees pack `a`'s only.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, false, or_, true

from api.auth import PERMISSIONS_SCOPE_KEY
from attune import errors
from attune.auth.permissions import Permissions, Resource, Verb, Visibility, missing


def request_permissions(request: Request) -> Permissions:
    """The caller's permissions; none (nothing allowed) when authentication left none."""
    permissions: Permissions | None = request.scope.get(PERMISSIONS_SCOPE_KEY)
    return permissions if permissions is not None else Permissions()


def requires(resource: Resource, verb: Verb) -> Any:
    """A route dependency: 403 unless the caller holds `verb` on some item of `resource`."""

    async def gate(request: Request) -> Permissions:
        permissions = request_permissions(request)
        if not permissions.allows_some(resource, verb):
            raise missing(resource, verb)
        return permissions

    gate.__name__ = f"requires_{verb.value}_{resource.value}"
    return Depends(gate)


def check_item(
    permissions: Permissions,
    resource: Resource,
    verb: Verb,
    *,
    pack: str | None,
    ref: str | None,
    noun: str,
) -> None:
    """Refuse `verb` on one item: 404 (`noun` not found) when the caller may not even view
    it, 403 naming the permission when it may view it but not do `verb`."""
    if not permissions.allows(resource, Verb.VIEW, pack=pack, ref=ref):
        raise errors.NotFound(f"{noun} not found")
    if verb != Verb.VIEW and not permissions.allows(resource, verb, pack=pack, ref=ref):
        raise missing(resource, verb, ref=ref)


def visible_clause(
    visibility: Visibility,
    *,
    pack: ColumnElement[Any] | None,
    ref: ColumnElement[Any] | None,
) -> ColumnElement[bool]:
    """The WHERE clause of a list: every row, none, or those of the visible packs and refs."""
    if visibility.everything:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if visibility.packs and pack is not None:
        clauses.append(pack.in_(sorted(visibility.packs)))
    if visibility.refs and ref is not None:
        clauses.append(ref.in_(sorted(visibility.refs)))
    return or_(*clauses) if clauses else false()


PERMISSION_EXTENSION = "x-attune-permission"
"""The OpenAPI extension naming what each operation needs: tests walk it route by route."""


def needs(resource: Resource, verb: Verb) -> dict[str, Any]:
    """A route decorator's arguments declaring that it needs `verb` on `resource`:
    `@router.get("/x", **needs(Resource.ACTION, Verb.VIEW))`. The gate refuses a caller
    without the verb anywhere (403); the route checks items and filters lists itself."""
    return {
        "dependencies": [requires(resource, verb)],
        "openapi_extra": {PERMISSION_EXTENSION: {"resource": resource.value, "verb": verb.value}},
    }


def needs_unless_own(resource: Resource, verb: Verb) -> dict[str, Any]:
    """As `needs`, for a route where the caller's own items need no grant (its user keys,
    identity and tokens): no gate, since a caller without any grant may still reach its
    own; the route checks each item, and the extension says `own: true`."""
    declared = {"resource": resource.value, "verb": verb.value, "own": True}
    return {"openapi_extra": {PERMISSION_EXTENSION: declared}}


def any_token() -> dict[str, Any]:
    """A route decorator's arguments for a route any valid token may use (`whoami`)."""
    return {"openapi_extra": {PERMISSION_EXTENSION: "any token"}}
