"""Events: emit one on a trigger (202 with what it caused), list and show them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import needs
from api.auth import CurrentIdentity
from api.catalog_access import (
    PermissionsDep,
    check_history_item,
    check_may_emit,
    pack_of,
    visible_events,
)
from api.deps import ServicesDep, SessionDep
from api.idempotency import (
    IdempotencyKeyHeader,
    IdempotentCall,
    idempotent_call,
    identity_scope,
    replayable,
)
from api.params import RecordId
from api.responses import errors_of
from api.schemas.history import EventCreate, EventRead, IngestedRead
from api.schemas.pages import BeforeId, HistoryPage, Limit, history_page, present
from api.services import Services
from attune.auth.permissions import Resource, Verb
from attune.engine.event_ingestion import Ingested, find_accepting_trigger, ingest_event
from db.models import Trigger
from db.repositories import event as events

router = APIRouter(prefix="/events", tags=["events"])


ACCEPTED = replayable(202)


def ingested_read(ingested: Ingested) -> IngestedRead:
    return IngestedRead(
        event_id=ingested.event.id,
        enforcement_ids=[enforcement.id for enforcement in ingested.enforcements],
        execution_ids=[execution.id for execution in ingested.executions],
    )


async def accept_event_once(
    session: AsyncSession,
    services: Services,
    call: IdempotentCall,
    *,
    trigger: Trigger,
    payload: Any,
) -> Response:
    """Write the event and what it causes, with its answer under the call's idempotency key
    in the same transaction; commit, then start the executions' workflows (each start
    bounded, see `Services`: an unreachable Temporal leaves them to the reconciler)."""
    ingested = await ingest_event(
        session,
        trigger=trigger,
        payload=payload,
        encryption_key=services.secrets_key,
        key_ring=services.settings.encryption_key_ring,
    )
    assert ingested is not None, "an event without a dedupe key is always written"
    answer = ingested_read(ingested)
    if (replayed := await call.keep(session, answer, status_code=202)) is not None:
        return replayed
    await session.commit()
    await services.starter.start_and_record(session, ingested.to_start)
    return await call.sent(session, answer, status_code=202)


@router.post(
    "",
    status_code=202,
    response_model=IngestedRead,
    responses={**ACCEPTED, **errors_of(403, 404, 409, 413, 429)},
    **needs(Resource.EVENT, Verb.CREATE),
)
async def create_event(
    session: SessionDep,
    services: ServicesDep,
    permissions: PermissionsDep,
    identity: CurrentIdentity,
    request: Request,
    body: EventCreate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Emit an event: matching rules run their actions. 404/409 for an unknown/disabled
    trigger, 422 naming the field for a payload that breaks the trigger's schema; needs
    create on event in the trigger's pack. With an `Idempotency-Key` a repeat gets the
    first answer again and emits nothing (409 when the key came with another request)."""
    check_may_emit(permissions, body.trigger)
    call = await idempotent_call(request, idempotency_key, scope=identity_scope(identity))
    if (replayed := await call.replay(session)) is not None:
        return replayed
    trigger = await find_accepting_trigger(session, body.trigger)
    return await accept_event_once(session, services, call, trigger=trigger, payload=body.payload)


@router.get("", responses=errors_of(403), **needs(Resource.EVENT, Verb.VIEW))
async def list_events(
    session: SessionDep,
    permissions: PermissionsDep,
    limit: Limit = 100,
    before_id: BeforeId = None,
    trigger: str | None = None,
) -> HistoryPage[EventRead]:
    """The events the caller may view (by their trigger's pack), newest first."""
    rows = await events.repository.list(
        session,
        limit=limit,
        before_id=before_id,
        where=[visible_events(permissions)],
        **present(trigger_ref=trigger),
    )
    return history_page(rows, EventRead.model_validate, limit=limit)


@router.get("/{id}", responses=errors_of(403, 404), **needs(Resource.EVENT, Verb.VIEW))
async def get_event(session: SessionDep, permissions: PermissionsDep, id: RecordId) -> EventRead:
    event = await events.repository.get(session, id=id)
    check_history_item(
        permissions,
        Resource.EVENT,
        repository=events.repository,
        id=id,
        pack=pack_of(event.trigger_ref),
    )
    return EventRead.model_validate(event)
