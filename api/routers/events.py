"""Events: emit one on a trigger (202 with what it caused), list and show them."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import needs
from api.catalog_access import (
    PermissionsDep,
    check_history_item,
    check_may_emit,
    pack_of,
    visible_events,
)
from api.deps import ServicesDep, SessionDep
from api.params import RecordId
from api.responses import errors_of
from api.schemas.history import EventCreate, EventRead, IngestedRead
from api.schemas.pages import BeforeId, HistoryPage, Limit, history_page, present
from attune.auth.permissions import Resource, Verb
from attune.engine.event_ingestion import Ingested, accept_event, find_accepting_trigger
from db.repositories import event as events

router = APIRouter(prefix="/events", tags=["events"])


def ingested_read(ingested: Ingested) -> IngestedRead:
    return IngestedRead(
        event_id=ingested.event.id,
        enforcement_ids=[enforcement.id for enforcement in ingested.enforcements],
        execution_ids=[execution.id for execution in ingested.executions],
    )


@router.post(
    "",
    status_code=202,
    responses=errors_of(403, 404, 409, 413, 429),
    **needs(Resource.EVENT, Verb.CREATE),
)
async def create_event(
    session: SessionDep, services: ServicesDep, permissions: PermissionsDep, body: EventCreate
) -> IngestedRead:
    """Emit an event: matching rules run their actions. 404/409 for an unknown/disabled
    trigger, 422 naming the field for a payload that breaks the trigger's schema; needs
    create on event in the trigger's pack."""
    check_may_emit(permissions, body.trigger)
    trigger = await find_accepting_trigger(session, body.trigger)
    return ingested_read(
        await accept_event(
            session,
            services.starter,
            trigger=trigger,
            payload=body.payload,
            encryption_key=services.secrets_key,
            key_ring=services.settings.encryption_key_ring,
        )
    )


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
