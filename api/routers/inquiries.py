"""Inquiries: list and show them, and answer one (the waiting execution then resumes)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import CurrentIdentity
from api.deps import ServicesDep, SessionDep
from api.params import IdFilter, RecordId
from api.responses import errors_of
from api.schemas.inquiries import InquiryRead, InquiryRespond
from api.schemas.pages import BeforeId, HistoryPage, Limit, history_page
from attune.engine.inquiry_responses import respond_to_inquiry
from db.models import InquiryStatus
from db.repositories import inquiry as inquiries

router = APIRouter(prefix="/inquiries", tags=["inquiries"])


@router.get("")
async def list_inquiries(
    session: SessionDep,
    limit: Limit = 100,
    before_id: BeforeId = None,
    status: InquiryStatus | None = None,
    assignee: str | None = None,
    execution: IdFilter = None,
) -> HistoryPage[InquiryRead]:
    """Newest first. `assignee` keeps those naming that login (an inquiry with no assignees
    may be answered by anyone, and names nobody)."""
    rows = await inquiries.list_for_api(
        session,
        status=status,
        assignee=assignee,
        execution_id=execution,
        limit=limit,
        before_id=before_id,
    )
    return history_page(rows, InquiryRead.model_validate, limit=limit)


@router.get("/{id}", responses=errors_of(404))
async def get_inquiry(session: SessionDep, id: RecordId) -> InquiryRead:
    return InquiryRead.model_validate(await inquiries.repository.get(session, id=id))


@router.post("/{id}/respond", responses=errors_of(403, 404, 409, 413))
async def respond(
    session: SessionDep,
    services: ServicesDep,
    identity: CurrentIdentity,
    id: RecordId,
    body: InquiryRespond,
) -> InquiryRead:
    """Answer as the calling identity: 200 with the inquiry `responded`, and its execution
    resumes. Refused before anything is written: 422 naming the field that breaks the
    schema, 403 for an identity that is not an assignee, 409 once the inquiry has been
    answered, has timed out or was cancelled."""
    inquiry = await respond_to_inquiry(
        session,
        services.temporal,
        inquiry_id=id,
        responder=identity.login,
        response=body.response,
    )
    return InquiryRead.model_validate(inquiry)
