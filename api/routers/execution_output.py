"""An execution's output while it runs: what was written so far, after a cursor, and a
Server-Sent Events stream of what comes until the execution ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from api.access import needs, request_permissions
from api.deps import ServicesDep, SessionDep
from api.execution_access import check_execution
from api.params import INT64_MAX, RecordId
from api.responses import errors_of
from api.services import Services
from attune.auth.permissions import Resource, Verb
from db.models import Execution
from db.models.enums import TERMINAL_EXECUTION_STATUSES
from db.repositories import execution as executions
from db.repositories import execution_output

router = APIRouter(prefix="/executions", tags=["executions"])


async def visible_execution(session: SessionDep, request: Request, id: RecordId) -> Execution:
    """The execution `id`, or the 404 of one the caller may not view; a dependency, so a
    stream is refused before it starts."""
    execution = await executions.repository.get(session, id=id)
    check_execution(request_permissions(request), execution, Verb.VIEW)
    return execution


VisibleExecution = Annotated[Execution, Depends(visible_execution)]

PAGE = 1000
# How often a stream looks for new output; it ends once the execution has ended.
POLL_SECONDS = 0.25
After = Annotated[
    int, Query(ge=0, le=INT64_MAX, description="Only pieces after this id: the last you saw.")
]
StreamSeconds = Annotated[
    float | None,
    Query(ge=0, le=86400, description="End the stream after this long (default: at the end)."),
]


class OutputPiece(BaseModel):
    id: int = Field(description="Orders the pieces; give the last one seen as `after`.")
    stream: str = Field(description="`stdout` or `stderr`.")
    text: str = Field(description="One or more whole lines (the last may lack its newline).")
    created: datetime


class OutputPage(BaseModel):
    items: list[OutputPiece]
    next_after: int = Field(description="Give it as `after` for what comes next.")
    status: str = Field(description="The execution's status when this page was read.")
    ended: bool = Field(description="The execution has ended: no more output will come.")


@router.get("/{id}/output", responses=errors_of(403, 404), **needs(Resource.EXECUTION, Verb.VIEW))
async def get_output(
    execution: VisibleExecution, session: SessionDep, id: RecordId, after: After = 0
) -> OutputPage:
    """What the action has written so far, after the piece `after`, oldest first: whole
    lines of stdout and stderr as the worker read them (the first 1 MiB of each, as in
    the result). `ended` once nothing more will come."""
    # The status first: output written before the ending is then never missed.
    status = execution.status
    pieces = await execution_output.read_after(session, execution_id=id, after=after, limit=PAGE)
    return OutputPage(
        items=[OutputPiece.model_validate(piece, from_attributes=True) for piece in pieces],
        next_after=pieces[-1].id if pieces else after,
        status=status,
        ended=status in TERMINAL_EXECUTION_STATUSES and len(pieces) < PAGE,
    )


@router.get(
    "/{id}/output/stream",
    response_class=EventSourceResponse,
    responses=errors_of(403, 404),
    **needs(Resource.EXECUTION, Verb.VIEW),
)
async def stream_output(
    execution: VisibleExecution,
    session: SessionDep,
    services: ServicesDep,
    request: Request,
    id: RecordId,
    after: After = 0,
    seconds: StreamSeconds = None,
    last_event_id: Annotated[int | None, Header(ge=0, le=INT64_MAX)] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events: `output` events (`id` the piece's, `data` its stream and text)
    as the action writes, then one `end` event with the execution's status. Resumes after
    `Last-Event-ID` (or `after`); keep-alive comments while nothing comes. With `seconds`,
    it ends after that long even if the execution has not (and sends no `end`)."""
    await session.close()  # a stream may last hours: no connection held meanwhile
    cursor = last_event_id if last_event_id is not None else after
    ends_at = None if seconds is None else time.monotonic() + seconds
    async for event in _follow(services, id, cursor, ends_at):
        if await request.is_disconnected():
            return
        yield event


async def _follow(
    services: Services, id: int, cursor: int, ends_at: float | None
) -> AsyncIterator[ServerSentEvent]:
    while ends_at is None or time.monotonic() < ends_at:
        async with services.sessions() as session:
            execution = await executions.repository.find(session, id=id)
            if execution is None:
                return  # deleted meanwhile (the retention purge): nothing more will come
            pieces = await execution_output.read_after(
                session, execution_id=id, after=cursor, limit=PAGE
            )
        for piece in pieces:
            cursor = piece.id
            yield ServerSentEvent(
                event="output", id=str(piece.id), data={"stream": piece.stream, "text": piece.text}
            )
        if execution.status in TERMINAL_EXECUTION_STATUSES and len(pieces) < PAGE:
            yield ServerSentEvent(event="end", data={"status": execution.status})
            return
        if not pieces:
            await asyncio.sleep(POLL_SECONDS)
