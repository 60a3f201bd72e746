"""Who may see and change packs and their content, and the events and enforcements they
cause (D6).

A pack's content (actions, triggers, rules, sensors, policies) is in its `pack_ref` and
named by its `ref`; a pack is its own pack. An event is its trigger's pack's, an
enforcement its rule's (the pack part of `trigger_ref` / `rule_ref`, kept after the
trigger or rule is deleted); their ref in a grant is their id, as for executions.

An item the caller may not view answers the very 404 of a missing one, so refs do not
tell what exists.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends
from sqlalchemy import ColumnElement, String, cast, func
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import check_item, request_permissions, visible_clause
from attune import errors
from attune.auth.permissions import Permissions, Resource, Verb
from db.models import Enforcement, Event, Pack
from db.models.base import PackContent
from db.repositories.base import Repository

PermissionsDep = Annotated[Permissions, Depends(request_permissions)]

ContentT = TypeVar("ContentT", bound=PackContent)


def pack_of(ref: str) -> str:
    """The pack part of a `pack.name` ref (a pack's name has no dots)."""
    return ref.partition(".")[0]


def visible_content(
    permissions: Permissions, resource: Resource, model: type[PackContent]
) -> ColumnElement[bool]:
    """The WHERE clause keeping the rows of `model` (a `resource`) the caller may view."""
    return visible_clause(
        permissions.visibility(resource), pack=model.pack_ref.expression, ref=model.ref.expression
    )


def visible_packs(permissions: Permissions) -> ColumnElement[bool]:
    """The WHERE clause keeping the packs the caller may view."""
    return visible_clause(
        permissions.visibility(Resource.PACK), pack=Pack.ref.expression, ref=Pack.ref.expression
    )


def visible_events(permissions: Permissions) -> ColumnElement[bool]:
    """The WHERE clause keeping the events the caller may view (by their trigger's pack)."""
    return visible_clause(
        permissions.visibility(Resource.EVENT),
        pack=func.split_part(Event.trigger_ref, ".", 1),
        ref=cast(Event.id, String),
    )


def visible_enforcements(permissions: Permissions) -> ColumnElement[bool]:
    """The WHERE clause keeping the enforcements the caller may view (by their rule's pack)."""
    return visible_clause(
        permissions.visibility(Resource.ENFORCEMENT),
        pack=func.split_part(Enforcement.rule_ref, ".", 1),
        ref=cast(Enforcement.id, String),
    )


async def content_by_ref(
    session: AsyncSession,
    repository: Repository[ContentT],
    ref: str,
    *,
    permissions: Permissions,
    resource: Resource,
    verb: Verb = Verb.VIEW,
) -> ContentT:
    """The item named `ref` if the caller may do `verb` on it: the 404 of a missing one when
    it may not view it, a 403 naming the permission when it may view but not do `verb`."""
    item = await repository.find_by_key(session, ref)
    if item is None or not permissions.allows(
        resource, Verb.VIEW, pack=item.pack_ref, ref=item.ref
    ):
        raise repository.not_found_by_key(ref)
    check_item(permissions, resource, verb, pack=item.pack_ref, ref=item.ref, noun=repository.noun)
    return item


async def pack_by_ref(
    session: AsyncSession,
    repository: Repository[Pack],
    ref: str,
    *,
    permissions: Permissions,
) -> Pack:
    """The pack named `ref` if the caller may view it; the 404 of a missing one otherwise."""
    pack = await repository.find_by_key(session, ref)
    if pack is None or not permissions.allows(Resource.PACK, Verb.VIEW, pack=ref, ref=ref):
        raise repository.not_found_by_key(ref)
    return pack


def check_history_item(
    permissions: Permissions,
    resource: Resource,
    *,
    repository: Repository[Any],
    id: int,
    pack: str,
) -> None:
    """The 404 of a missing event or enforcement `id` when the caller may not view it."""
    if not permissions.allows(resource, Verb.VIEW, pack=pack, ref=str(id)):
        raise repository.not_found_by_id(id)


def check_may_emit(permissions: Permissions, trigger_ref: str) -> None:
    """403 unless the caller may create events on the trigger's pack.

    Decided on the ref alone, before the trigger is looked up: a refused caller learns
    nothing about which triggers exist or are enabled.
    """
    pack = pack_of(trigger_ref)
    if not permissions.allows(Resource.EVENT, Verb.CREATE, pack=pack):
        raise errors.PermissionDenied(
            f"permission denied: needs create on event of pack {pack!r}",
            details={"resource": Resource.EVENT.value, "verb": Verb.CREATE.value, "pack": pack},
        )
