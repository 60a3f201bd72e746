"""`GET /api/v1/stream`: what happens, as Server-Sent Events: executions created and each
change of their status, events and enforcements created, inquiries created and answered
or timed out, sensors registered and each change of their status, artifacts created and
each change of their data (a progress artifact's percent rides along). Only what the
caller may view; resumable with `Last-Event-ID`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.access import any_token, request_permissions
from api.deps import ServicesDep
from api.params import INT64_MAX
from api.routers.execution_output import StreamSeconds
from attune.auth.permissions import Permissions, Resource, Verb
from attune.stream_hub import StreamEvent, StreamHub

router = APIRouter(prefix="/stream", tags=["stream"])
LISTENING_WAIT_SECONDS = 5.0


class Kind(StrEnum):
    EXECUTION = "execution"
    EVENT = "event"
    ENFORCEMENT = "enforcement"
    INQUIRY = "inquiry"
    SENSOR = "sensor"
    ARTIFACT = "artifact"


# Who may see an event of each kind, and the ref whose pack it belongs to.
VIEWED_AS = {
    Kind.EXECUTION: (Resource.EXECUTION, "action"),
    Kind.EVENT: (Resource.EVENT, "trigger"),
    Kind.ENFORCEMENT: (Resource.ENFORCEMENT, "rule"),
    Kind.INQUIRY: (Resource.INQUIRY, "action"),
    Kind.SENSOR: (Resource.SENSOR, "sensor"),
    Kind.ARTIFACT: (Resource.ARTIFACT, "pack"),
}
# Catalog content is granted by ref (pack.name), artifacts by their ref, history by id.
REF_FIELD = {Resource.SENSOR: "sensor", Resource.ARTIFACT: "ref"}


def stream_hub(services: ServicesDep) -> StreamHub:
    """The process's hub; a dependency, so that a refusal comes before the stream starts."""
    return services.hub()


@router.get("", response_class=EventSourceResponse, responses={401: {}, 422: {}}, **any_token())
async def stream(
    request: Request,
    hub: Annotated[StreamHub, Depends(stream_hub)],
    kind: Annotated[list[Kind] | None, Query(description="Only these kinds (repeat it).")] = None,
    pack: Annotated[str | None, Query(max_length=255, description="Only this pack's.")] = None,
    action: Annotated[
        str | None, Query(max_length=512, description="Only this action's executions.")
    ] = None,
    seconds: StreamSeconds = None,
    last_event_id: Annotated[int | None, Header(ge=0, le=INT64_MAX)] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Each event's SSE `event` is its kind and `id` its id; `data` holds `kind`,
    `change` (`created`, `status`, or `updated` for an artifact's data), `entity_id`,
    `at`, `status` and the refs (`action`, `trigger`, `rule`, ...). With `Last-Event-ID`
    the events after it come first, if this process still keeps it (the last 10,000); if
    not, a `lost` event says so. Keep-alive comments while nothing happens. Any token may
    listen; it hears only what it may view."""
    permissions = request_permissions(request)
    # Just after the process started (or lost its connection), wait a little for it to
    # hear again; past that the stream goes on, and hears once it does.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(hub.listening.wait(), LISTENING_WAIT_SECONDS)
    subscription = hub.subscribe(last_event_id)
    ends_at = None if seconds is None else time.monotonic() + seconds
    try:
        if subscription.lost:
            yield ServerSentEvent(event="lost", data={"after": last_event_id})
        while True:
            left = None if ends_at is None else max(0.0, ends_at - time.monotonic())
            try:
                event = await asyncio.wait_for(subscription.queue.get(), left)
            except TimeoutError:
                return
            if event is None:
                return
            if _wanted(event, kind, pack, action) and _visible(permissions, event):
                yield ServerSentEvent(event=str(event["kind"]), id=str(event["id"]), data=event)
    finally:
        hub.unsubscribe(subscription)


def _wanted(
    event: StreamEvent, kinds: list[Kind] | None, pack: str | None, action: str | None
) -> bool:
    if kinds and event.get("kind") not in kinds:
        return False
    if action is not None and event.get("action") != action:
        return False
    return pack is None or _pack(event) == pack


def _pack(event: StreamEvent) -> str | None:
    with contextlib.suppress(KeyError, ValueError):
        _, field = VIEWED_AS[Kind(event["kind"])]
        ref: Any = event.get(field)
        return ref.split(".", 1)[0] if isinstance(ref, str) else None
    return None


def _visible(permissions: Permissions, event: StreamEvent) -> bool:
    try:
        resource, _ = VIEWED_AS[Kind(event["kind"])]
    except (KeyError, ValueError):
        return False
    field = REF_FIELD.get(resource)
    ref = event.get(field) if field is not None else str(event["entity_id"])
    return permissions.allows(resource, Verb.VIEW, pack=_pack(event), ref=ref)
