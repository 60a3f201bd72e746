"""Webhooks: `POST /webhooks/{trigger}` with a JSON object body emits an event on it.

Callers authenticate with a bearer token, or, for systems that cannot hold one, with an
HMAC-SHA256 signature of the raw body made with the trigger's webhook secret.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import current_identity
from api.deps import ServicesDep, SessionDep
from api.routers.events import ingested_read
from api.schemas.history import IngestedRead
from api.services import Services
from attune import errors
from attune.auth.webhook_signature import SIGNATURE_HEADER, verify
from attune.crypto import decrypt_secret
from attune.engine.event_ingestion import accept_event, find_accepting_trigger
from db.models import Trigger

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

SIGNED_OR_BEARER = (
    f"send Authorization: Bearer <token>, or sign the body: {SIGNATURE_HEADER}: sha256=<hex "
    "HMAC-SHA256 of the body with the trigger's webhook secret>"
)


@router.post(
    "/{trigger_ref}",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_webhook(
    request: Request, session: SessionDep, services: ServicesDep, trigger_ref: str
) -> IngestedRead:
    """The JSON body is the event's payload. 202 with the event and what it caused."""
    body = await request.body()
    if request.headers.get("Authorization") is not None:
        await current_identity(request, services, None)
        trigger = await find_accepting_trigger(session, trigger_ref)
    else:
        header = request.headers.get(SIGNATURE_HEADER)
        trigger = await _signed_trigger(session, services, trigger_ref, body, header)
    if trigger.trigger_type != "webhook":
        raise errors.Conflict(
            f"trigger {trigger_ref!r} is a {trigger.trigger_type} trigger, not a webhook",
            details={"trigger": trigger_ref},
        )
    payload = _json_object(body)
    return ingested_read(
        await accept_event(session, services.starter, trigger=trigger, payload=payload)
    )


async def _signed_trigger(
    session: AsyncSession, services: Services, trigger_ref: str, body: bytes, header: str | None
) -> Trigger:
    """The trigger, if the body carries a valid signature for it; 401 otherwise.

    Unsigned callers learn nothing about which triggers exist: every failure is the same 401.
    """
    if header is None:
        raise errors.Unauthenticated(f"missing credentials: {SIGNED_OR_BEARER}")
    try:
        trigger = await find_accepting_trigger(session, trigger_ref)
    except errors.AttuneError:
        trigger = None
    secret = (
        decrypt_secret(services.encryption_key(), trigger.webhook_secret)
        if trigger is not None and trigger.webhook_secret is not None
        else None
    )
    if trigger is None or secret is None or not verify(secret, body, header):
        raise errors.Unauthenticated(f"invalid webhook signature: {SIGNED_OR_BEARER}")
    return trigger


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"{}")
    except ValueError as error:
        raise errors.ValidationError(
            f"the body must be JSON: {error}", details={"field": "body"}
        ) from None
    if not isinstance(payload, dict):
        raise errors.ValidationError(
            f"the body must be a JSON object, not {type(payload).__name__}",
            details={"field": "body"},
        )
    return payload
