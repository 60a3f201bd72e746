"""Enforcements: list and show what rules decided."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import needs
from api.catalog_access import PermissionsDep, check_history_item, pack_of, visible_enforcements
from api.deps import SessionDep
from api.params import IdFilter, RecordId
from api.responses import errors_of
from api.schemas.history import EnforcementRead
from api.schemas.pages import BeforeId, HistoryPage, Limit, history_page, present
from attune.auth.permissions import Resource, Verb
from db.repositories import enforcement as enforcements

router = APIRouter(prefix="/enforcements", tags=["enforcements"])


@router.get("", responses=errors_of(403), **needs(Resource.ENFORCEMENT, Verb.VIEW))
async def list_enforcements(
    session: SessionDep,
    permissions: PermissionsDep,
    limit: Limit = 100,
    before_id: BeforeId = None,
    rule: str | None = None,
    event: IdFilter = None,
) -> HistoryPage[EnforcementRead]:
    """The enforcements the caller may view (by their rule's pack), newest first."""
    rows = await enforcements.repository.list(
        session,
        limit=limit,
        before_id=before_id,
        where=[visible_enforcements(permissions)],
        **present(rule_ref=rule, event_id=event),
    )
    return history_page(rows, EnforcementRead.model_validate, limit=limit)


@router.get("/{id}", responses=errors_of(403, 404), **needs(Resource.ENFORCEMENT, Verb.VIEW))
async def get_enforcement(
    session: SessionDep, permissions: PermissionsDep, id: RecordId
) -> EnforcementRead:
    enforcement = await enforcements.repository.get(session, id=id)
    check_history_item(
        permissions,
        Resource.ENFORCEMENT,
        repository=enforcements.repository,
        id=id,
        pack=pack_of(enforcement.rule_ref),
    )
    return EnforcementRead.model_validate(enforcement)
