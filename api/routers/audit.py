"""The audit trail: changes of access, login attempts and decrypts, newest first.

It needs view on `audit`, which only `admin` holds among the built-in sets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.access import needs
from api.deps import SessionDep
from api.responses import errors_of
from api.schemas.identities import AuditRead
from api.schemas.pages import DEFAULT_PAGE, BeforeId, HistoryPage, Limit, history_page
from attune.auth.permissions import Resource, Verb
from db.repositories import audit

router = APIRouter(prefix="/audit", tags=["audit"])

Filter = Annotated[str | None, Query(max_length=200)]


@router.get("", responses=errors_of(403), **needs(Resource.AUDIT, Verb.VIEW))
async def list_audit(
    session: SessionDep,
    limit: Limit = DEFAULT_PAGE,
    before_id: BeforeId = None,
    action: Filter = None,
    actor: Filter = None,
) -> HistoryPage[AuditRead]:
    """Audit records newest first, by action (identity.create, login.failure, ...) and actor."""
    rows = await audit.list_newest_first(
        session, limit=limit, before_id=before_id, action=action, actor=actor
    )
    return history_page(rows, AuditRead.of, limit=limit)
