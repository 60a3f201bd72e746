"""Rules: list, show, enable and disable."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import needs
from api.catalog_access import PermissionsDep, content_by_ref, visible_content
from api.deps import ServicesDep, SessionDep
from api.event_sources import pass_on_to_temporal
from api.responses import errors_of
from api.schemas.catalog import RuleRead, RuleUpdate
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page, present
from attune.auth.permissions import Resource, Verb
from db.models import Rule
from db.repositories import rule as rules

router = APIRouter(prefix="/rules", tags=["rules"])


@router.get("", responses=errors_of(403), **needs(Resource.RULE, Verb.VIEW))
async def list_rules(
    session: SessionDep,
    permissions: PermissionsDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
    pack: str | None = None,
    trigger: str | None = None,
) -> CatalogPage[RuleRead]:
    """The rules the caller may view, in ref order, optionally of one pack or trigger."""
    filters = present(pack_ref=pack, trigger_ref=trigger)
    visible = visible_content(permissions, Resource.RULE, Rule)
    rows = await rules.repository.list(
        session, limit=limit, offset=offset, where=[visible], **filters
    )
    return catalog_page(rows, RuleRead.model_validate, limit=limit, offset=offset)


@router.get("/{ref}", responses=errors_of(403, 404), **needs(Resource.RULE, Verb.VIEW))
async def get_rule(session: SessionDep, permissions: PermissionsDep, ref: str) -> RuleRead:
    rule = await content_by_ref(
        session, rules.repository, ref, permissions=permissions, resource=Resource.RULE
    )
    return RuleRead.model_validate(rule)


@router.patch("/{ref}", responses=errors_of(403, 404), **needs(Resource.RULE, Verb.MODIFY))
async def update_rule(
    session: SessionDep,
    services: ServicesDep,
    permissions: PermissionsDep,
    ref: str,
    body: RuleUpdate,
) -> RuleRead:
    """Enable or disable a rule. A timer rule's schedule pauses or resumes with it.

    Re-registering the rule's pack sets `enabled` back to what its file says.
    """
    rule = await content_by_ref(
        session,
        rules.repository,
        ref,
        permissions=permissions,
        resource=Resource.RULE,
        verb=Verb.MODIFY,
    )
    updated = await rules.repository.update(session, id=rule.id, changes={"enabled": body.enabled})
    read = RuleRead.model_validate(updated)
    await session.commit()
    await pass_on_to_temporal(services, packs=[updated.pack_ref], sensors=False)
    return read
