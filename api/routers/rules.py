"""Rules: list, show, enable and disable."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServicesDep, SessionDep
from api.event_sources import pass_on_to_temporal
from api.responses import errors_of
from api.schemas.catalog import RuleRead, RuleUpdate
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page, present
from db.repositories import rule as rules

router = APIRouter(prefix="/rules", tags=["rules"])


@router.get("")
async def list_rules(
    session: SessionDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
    pack: str | None = None,
    trigger: str | None = None,
) -> CatalogPage[RuleRead]:
    filters = present(pack_ref=pack, trigger_ref=trigger)
    rows = await rules.repository.list(session, limit=limit, offset=offset, **filters)
    return catalog_page(rows, RuleRead.model_validate, limit=limit, offset=offset)


@router.get("/{ref}", responses=errors_of(404))
async def get_rule(session: SessionDep, ref: str) -> RuleRead:
    return RuleRead.model_validate(await rules.repository.get_by_key(session, ref))


@router.patch("/{ref}", responses=errors_of(404))
async def update_rule(
    session: SessionDep, services: ServicesDep, ref: str, body: RuleUpdate
) -> RuleRead:
    """Enable or disable a rule. A timer rule's schedule pauses or resumes with it.

    Re-registering the rule's pack sets `enabled` back to what its file says.
    """
    rule = await rules.repository.get_by_key(session, ref)
    updated = await rules.repository.update(session, id=rule.id, changes={"enabled": body.enabled})
    read = RuleRead.model_validate(updated)
    await session.commit()
    await pass_on_to_temporal(services, packs=[updated.pack_ref], sensors=False)
    return read
