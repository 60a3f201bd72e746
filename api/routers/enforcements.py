"""Enforcements: list and show what rules decided."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.params import IdFilter, RecordId
from api.responses import errors_of
from api.schemas.history import EnforcementRead
from api.schemas.pages import BeforeId, HistoryPage, Limit, history_page, present
from db.repositories import enforcement as enforcements

router = APIRouter(prefix="/enforcements", tags=["enforcements"])


@router.get("")
async def list_enforcements(
    session: SessionDep,
    limit: Limit = 100,
    before_id: BeforeId = None,
    rule: str | None = None,
    event: IdFilter = None,
) -> HistoryPage[EnforcementRead]:
    rows = await enforcements.repository.list(
        session, limit=limit, before_id=before_id, **present(rule_ref=rule, event_id=event)
    )
    return history_page(rows, EnforcementRead.model_validate, limit=limit)


@router.get("/{id}", responses=errors_of(404))
async def get_enforcement(session: SessionDep, id: RecordId) -> EnforcementRead:
    return EnforcementRead.model_validate(await enforcements.repository.get(session, id=id))
