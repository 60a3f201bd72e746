"""Webhooks: `POST /webhooks/{trigger}` with a JSON object body emits an event on it.

Callers authenticate with a bearer token (checked by the request guard before the body is
read), or, for systems that cannot hold one, by signing a timestamp and the raw body with
the trigger's webhook secret (`attune.auth.webhook_signature`). A signed delivery is
accepted once, within `ATTUNE_WEBHOOK_TOLERANCE_SECONDS` of its timestamp.

An `Idempotency-Key` (see `api.idempotency`) is the caller's: the token's identity, or for
a signed delivery the webhook itself. A sender that retries a delivery, re-signed or not,
with the same key and body gets the first answer again, and no second event.

A bearer token needs create on event in the trigger's pack; a signature is the trigger's
own consent and needs no grant.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import PERMISSION_EXTENSION, request_permissions
from api.auth import request_identity
from api.catalog_access import check_may_emit
from api.deps import ServicesDep, SessionDep
from api.idempotency import (
    IdempotencyKeyHeader,
    IdempotentCall,
    idempotent_call,
    identity_scope,
    webhook_scope,
)
from api.responses import errors_of
from api.routers.events import ACCEPTED, accept_event_once
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
from attune.engine.event_ingestion import find_accepting_trigger
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
    response_model=IngestedRead,
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
    responses={**ACCEPTED, **errors_of(401, 403, 404, 409, 413, 422, 429, 503)},
)
async def receive_webhook(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    trigger_ref: str,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """The JSON body is the event's payload. 202 with the event and what it caused; 409 for
    a signed delivery received before (a replay) or a trigger that is not a webhook. With
    an `Idempotency-Key` a repeat gets the first answer again (and is no replay)."""
    body = await request.body()
    identity = request_identity(request)
    if identity is not None:
        check_may_emit(request_permissions(request), trigger_ref)
        call = await idempotent_call(request, idempotency_key, scope=identity_scope(identity))
        if (replayed := await call.replay(session)) is not None:
            return replayed
        trigger = await find_accepting_trigger(session, trigger_ref)
    else:
        trigger, digest, signed_at = await _signed_trigger(
            session, services, request, trigger_ref, body
        )
        call = await idempotent_call(request, idempotency_key, scope=webhook_scope(trigger))
        if (replayed := await call.replay(session)) is not None:
            return replayed
        replayed = await _record_delivery(session, call, trigger, digest, signed_at)
        if replayed is not None:
            return replayed
    if trigger.trigger_type != "webhook":
        raise errors.Conflict(
            f"trigger {trigger_ref!r} is a {trigger.trigger_type} trigger, not a webhook",
            details={"trigger": trigger_ref},
        )
    payload = _json_object(body)
    return await accept_event_once(session, services, call, trigger=trigger, payload=payload)


async def _signed_trigger(
    session: AsyncSession, services: Services, request: Request, trigger_ref: str, body: bytes
) -> tuple[Trigger, bytes, datetime]:
    """The trigger, the signature's digest and its time, if the request carries a fresh
    valid signature for the trigger; 401 otherwise.

    Unsigned callers learn nothing about which triggers exist: every failure is the same
    401, apart from a stale timestamp, which says so.
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
    except (errors.NotFound, errors.Conflict):  # not an outage: that stays a 503
        trigger = None
    secret = (
        _webhook_secret(services, trigger.webhook_secret)
        if trigger is not None and trigger.webhook_secret is not None
        else None
    )
    if trigger is None or secret is None or not verify(secret, body, timestamp, digest):
        raise errors.Unauthenticated(f"invalid webhook signature: {SIGNED_OR_BEARER}")
    return trigger, digest, datetime.fromtimestamp(timestamp, UTC)


async def _record_delivery(
    session: AsyncSession,
    call: IdempotentCall,
    trigger: Trigger,
    digest: bytes,
    signed_at: datetime,
) -> Response | None:
    """Record the signed delivery in the caller's transaction (so one whose event is not
    taken can be sent again); 409 for one received before.

    The same delivery sent twice at once under one idempotency key: the second waits here
    for the first's transaction, then gets the first's answer (returned) rather than a 409.
    """
    first = await webhook_delivery.record_first_delivery(
        session, trigger_id=trigger.id, signature=digest, signed_at=signed_at
    )
    if first:
        return None
    if (replayed := await call.replay(session)) is not None:
        return replayed
    raise errors.Conflict(
        "this signed delivery was received already (a replay); a new delivery needs a "
        "new timestamp and signature",
        details={"trigger": trigger.ref},
    )


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
