"""Inquiries: list and show them, and answer one (the waiting execution then resumes)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import needs, request_permissions
from api.auth import CurrentIdentity
from api.deps import ServicesDep, SessionDep
from api.execution_access import check_inquiry, visible_inquiries
from api.params import IdFilter, RecordId
from api.responses import errors_of
from api.schemas.inquiries import InquiryRead, InquiryRespond
from api.schemas.pages import BeforeId, HistoryPage, Limit, history_page
from attune.auth.permissions import Resource, Verb
from attune.engine.inquiry_responses import respond_to_inquiry
from db.models import Inquiry, InquiryStatus
from db.repositories import execution as executions
from db.repositories import inquiry as inquiries

router = APIRouter(prefix="/inquiries", tags=["inquiries"])


@router.get("", responses=errors_of(403), **needs(Resource.INQUIRY, Verb.VIEW))
async def list_inquiries(
    session: SessionDep,
    request: Request,
    limit: Limit = 100,
    before_id: BeforeId = None,
    status: InquiryStatus | None = None,
    assignee: str | None = None,
    execution: IdFilter = None,
) -> HistoryPage[InquiryRead]:
    """Newest first. `assignee` keeps those naming that login (an inquiry with no assignees
    may be answered by anyone, and names nobody). Only those the caller may view: an
    inquiry is of its execution's pack."""
    rows = await inquiries.list_for_api(
        session,
        status=status,
        assignee=assignee,
        execution_id=execution,
        limit=limit,
        before_id=before_id,
        visible=visible_inquiries(request_permissions(request)),
    )
    return history_page(rows, InquiryRead.model_validate, limit=limit)


@router.get("/{id}", responses=errors_of(403, 404), **needs(Resource.INQUIRY, Verb.VIEW))
async def get_inquiry(session: SessionDep, request: Request, id: RecordId) -> InquiryRead:
    """One inquiry; 404 too for one the caller may not view."""
    return InquiryRead.model_validate(await _checked(session, request, id, Verb.VIEW))


@router.post(
    "/{id}/respond",
    responses=errors_of(403, 404, 409, 413),
    **needs(Resource.INQUIRY, Verb.RESPOND),
)
async def respond(
    session: SessionDep,
    services: ServicesDep,
    identity: CurrentIdentity,
    request: Request,
    id: RecordId,
    body: InquiryRespond,
) -> InquiryRead:
    """Answer as the calling identity: 200 with the inquiry `responded`, and its execution
    resumes. Refused before anything is written: 422 naming the field that breaks the
    schema, 403 without respond on the inquiry and for an identity that is not one of its
    assignees (when it names any), 409 once the inquiry has been answered, has timed out or
    was cancelled."""
    await _checked(session, request, id, Verb.RESPOND)
    inquiry = await respond_to_inquiry(
        session,
        services.temporal,
        inquiry_id=id,
        responder=identity.login,
        response=body.response,
    )
    return InquiryRead.model_validate(inquiry)


async def _checked(session: AsyncSession, request: Request, id: int, verb: Verb) -> Inquiry:
    """The inquiry, once the caller is found to hold `verb` on it (404 when it may not view it)."""
    inquiry = await inquiries.repository.get(session, id=id)
    execution = await executions.repository.get(session, id=inquiry.execution_id)
    check_inquiry(request_permissions(request), inquiry, execution, verb)
    return inquiry
