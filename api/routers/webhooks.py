"""Webhooks: `POST /webhooks/{trigger}` with a JSON object body emits an event on it.

Callers authenticate with a bearer token (checked by the request guard before the body is
read), or, for systems that cannot hold one, by signing a timestamp and the raw body with
the trigger's webhook secret (`attune.auth.webhook_signature`). A signed delivery is
accepted once, within `ATTUNE_WEBHOOK_TOLERANCE_SECONDS` of its timestamp.

A bearer token needs create on event in the trigger's pack; a signature is the trigger's
own consent and needs no grant.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import PERMISSION_EXTENSION, request_permissions
from api.auth import request_identity
from api.catalog_access import check_may_emit
from api.deps import ServicesDep, SessionDep
from api.responses import errors_of
from api.routers.events import ingested_read
from api.schemas.history import IngestedRead
from api.services import Services
from attune import errors
from attune.auth.permissions import Resource, Verb
from attune.auth.webhook_signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    parse_timestamp,
    signature_digest,
    verify,
)
from attune.crypto import SecretDecryptionError, decrypt_secret_with_any
from attune.engine.event_ingestion import accept_event, find_accepting_trigger
from attune.json_limits import loads_checked
from db.models import Trigger
from db.repositories import webhook_delivery

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

SIGNED_OR_BEARER = (
    f"send Authorization: Bearer <token>, or sign it: {TIMESTAMP_HEADER}: <unix seconds> "
    f'and {SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the '
    "trigger's webhook secret>"
)


@router.post(
    "/{trigger_ref}",
    status_code=202,
    openapi_extra={
        # Not `needs(...)`: its gate would refuse the signed deliveries that carry no token.
        PERMISSION_EXTENSION: {
            "resource": Resource.EVENT.value,
            "verb": Verb.CREATE.value,
            "or": "a webhook signature",
        },
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    },
    responses=errors_of(401, 403, 404, 409, 413, 422, 429, 503),
)
async def receive_webhook(
    request: Request, session: SessionDep, services: ServicesDep, trigger_ref: str
) -> IngestedRead:
    """The JSON body is the event's payload. 202 with the event and what it caused; 409 for
    a signed delivery received before (a replay) or a trigger that is not a webhook."""
    body = await request.body()
    if request_identity(request) is not None:
        check_may_emit(request_permissions(request), trigger_ref)
        trigger = await find_accepting_trigger(session, trigger_ref)
    else:
        trigger = await _signed_trigger(session, services, request, trigger_ref, body)
    if trigger.trigger_type != "webhook":
        raise errors.Conflict(
            f"trigger {trigger_ref!r} is a {trigger.trigger_type} trigger, not a webhook",
            details={"trigger": trigger_ref},
        )
    payload = _json_object(body)
    return ingested_read(
        await accept_event(
            session,
            services.starter,
            trigger=trigger,
            payload=payload,
            encryption_key=services.secrets_key,
            key_ring=services.settings.encryption_key_ring,
        )
    )


async def _signed_trigger(
    session: AsyncSession, services: Services, request: Request, trigger_ref: str, body: bytes
) -> Trigger:
    """The trigger, if the request carries a fresh valid signature for it; 401 otherwise.

    Unsigned callers learn nothing about which triggers exist: every failure is the same
    401, apart from a stale timestamp, which says so. The delivery is recorded in the
    caller's transaction, so a delivery whose event is not taken can be sent again.
    """
    timestamp = parse_timestamp(request.headers.get(TIMESTAMP_HEADER))
    digest = signature_digest(request.headers.get(SIGNATURE_HEADER))
    if timestamp is None or digest is None:
        raise errors.Unauthenticated(f"missing or malformed signature: {SIGNED_OR_BEARER}")
    tolerance = services.settings.webhook_tolerance_seconds
    age = time.time() - timestamp
    if abs(age) > tolerance:
        raise errors.Unauthenticated(
            f"the signature's timestamp is {age:.0f} s from now, outside the {tolerance} s "
            "a signed webhook is accepted; sign each delivery as you send it"
        )
    try:
        trigger: Trigger | None = await find_accepting_trigger(session, trigger_ref)
    except errors.AttuneError:
        trigger = None
    secret = (
        _webhook_secret(services, trigger.webhook_secret)
        if trigger is not None and trigger.webhook_secret is not None
        else None
    )
    if trigger is None or secret is None or not verify(secret, body, timestamp, digest):
        raise errors.Unauthenticated(f"invalid webhook signature: {SIGNED_OR_BEARER}")
    signed_at = datetime.fromtimestamp(timestamp, UTC)
    first = await webhook_delivery.record_first_delivery(
        session, trigger_id=trigger.id, signature=digest, signed_at=signed_at
    )
    if not first:
        raise errors.Conflict(
            "this signed delivery was received already (a replay); a new delivery needs a "
            "new timestamp and signature",
            details={"trigger": trigger_ref},
        )
    return trigger


def _webhook_secret(services: Services, sealed: str) -> str:
    """The trigger's secret, opened with any key of the ring: a secret stored before a key
    rotation, and not yet re-encrypted, still verifies."""
    services.encryption_key()  # refused clearly when no key is configured
    try:
        return decrypt_secret_with_any(services.settings.encryption_key_ring, sealed)
    except SecretDecryptionError as error:
        # The operator's to fix (a key missing from the ring), not the sender's: no 500.
        raise errors.Conflict(f"the trigger's webhook secret cannot be read: {error}") from None


def _json_object(body: bytes) -> dict[str, Any]:
    payload = loads_checked(body or b"{}", field="body")
    if not isinstance(payload, dict):
        raise errors.ValidationError(
            f"the body must be a JSON object, not {type(payload).__name__}",
            details={"field": "body"},
        )
    return payload
