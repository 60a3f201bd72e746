"""`Idempotency-Key`: a retried POST gets the first answer again and creates nothing new.

A client that may retry a request (it got no answer: the connection dropped, the API
died) sends `Idempotency-Key: <a fresh uuid4>` with it, and the same key with each retry.
The first request under a key that succeeds (2xx) keeps its answer, in PostgreSQL and in
the transaction that writes what the request creates, so every API process knows it and
a crash cannot leave the rows without the key or the key without the rows. A repeat
within `WINDOW` is answered from there (status and body as first sent, and
`Idempotent-Replayed: true`); the same key with another request (method, path, query or
body) is a 409. An error answer is not kept: the client may fix the request and retry.

Keys belong to a caller (`identity:<id>`, or `webhook:<trigger id>` for a signed
delivery), so no caller can read another's answer by guessing its key.

Two requests under one key at once: both do their work, and the unique constraint makes
the second's write of the key wait for the first's transaction; the second then rolls
its own work back and replays the first's answer. Nothing is ever answered "in progress".
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.request_guard import route_path
from attune import errors
from db.models import Identity, Trigger
from db.repositories import idempotency_key as idempotency_keys

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
WINDOW = timedelta(hours=24)
"""How long a key is kept: a retry later than this runs the request again."""
MAX_KEY_LENGTH = 255
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")
FIELD = f"header.{IDEMPOTENCY_HEADER}"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description="Send a fresh one (a uuid4) per operation, and the same one with each "
        "retry: a repeat within 24 h gets the first answer (with `Idempotent-Replayed: "
        "true`) and creates nothing; the key with another request is a 409. 1 to "
        f"{MAX_KEY_LENGTH} printable ASCII characters.",
    ),
]


def replayable(status_code: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry declaring `Idempotent-Replayed` on a route's success answer."""
    header = {
        "description": "`true` on an answer replayed for a repeated `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    }
    return {status_code: {"headers": {REPLAYED_HEADER: header}}}


class IdempotentCall:
    """One request's key (or none), with its caller's scope and the request's digest."""

    def __init__(self, *, scope: str, key: str | None, request_hash: bytes) -> None:
        self.scope = scope
        self.key = key
        self.request_hash = request_hash
        self._kept: bytes | None = None

    async def replay(self, session: AsyncSession) -> Response | None:
        """The first answer under this key again, if there was one; 409 when it was given
        with another request."""
        if self.key is None:
            return None
        kept = await idempotency_keys.find_live(session, scope=self.scope, key=self.key)
        if kept is None:
            return None
        if kept.request_hash != self.request_hash:
            raise errors.Conflict(
                f"the {IDEMPOTENCY_HEADER} was used for a different request (another method, "
                f"path, query or body) within the last {_hours(WINDOW)} h; send a new key "
                "with a new request",
                details={"field": FIELD},
            )
        return Response(
            kept.response,
            status_code=kept.status_code,
            media_type="application/json",
            headers={REPLAYED_HEADER: "true"},
        )

    async def keep(
        self, session: AsyncSession, answer: BaseModel, *, status_code: int
    ) -> Response | None:
        """Record the answer under the key, in the caller's open transaction, beside the rows
        the request wrote. None when recorded (or there is no key): commit, then go on.

        When another request under the key has committed first, this one's work is rolled
        back and that request's answer is returned, to send as it is.
        """
        if self.key is None:
            return None
        body = render(answer, status_code).body
        recorded = await idempotency_keys.record_first(
            session,
            scope=self.scope,
            key=self.key,
            request_hash=self.request_hash,
            status_code=status_code,
            response=bytes(body),
            window=WINDOW,
        )
        if recorded:
            self._kept = bytes(body)
            return None
        await session.rollback()
        replayed = await self.replay(session)
        if replayed is None:  # the winner's key expired in the instant between: unlikely
            raise errors.Conflict(
                f"another request under this {IDEMPOTENCY_HEADER} was being answered; "
                "send it again",
                details={"field": FIELD},
            )
        return replayed

    async def sent(self, session: AsyncSession, answer: BaseModel, *, status_code: int) -> Response:
        """The answer to send. When it differs from the one kept (an execution's status
        moved when its workflow started), it replaces it in the caller's transaction, so a
        retry gets what was sent."""
        response = render(answer, status_code)
        if self.key is not None and self._kept is not None and self._kept != response.body:
            await idempotency_keys.replace_answer(
                session,
                scope=self.scope,
                key=self.key,
                status_code=status_code,
                response=bytes(response.body),
            )
            self._kept = bytes(response.body)
        return response


async def idempotent_call(request: Request, key: str | None, *, scope: str) -> IdempotentCall:
    """The request's `Idempotency-Key`, checked (422 naming the header), under `scope`."""
    if key is None:
        return IdempotentCall(scope=scope, key=None, request_hash=b"")
    _check_key(key)
    return IdempotentCall(
        scope=scope, key=key, request_hash=request_digest(request, await request.body())
    )


def identity_scope(identity: Identity) -> str:
    """The scope of an authenticated caller's keys."""
    return f"identity:{identity.id}" if identity.id is not None else f"login:{identity.login}"


def webhook_scope(trigger: Trigger) -> str:
    """The scope of the keys of a webhook's signed deliveries: the trigger's own."""
    return f"webhook:{trigger.id}"


def request_digest(request: Request, body: bytes) -> bytes:
    """SHA-256 of the method, the path, the query and the body: what makes two requests
    the same. None of the first three holds a newline, so the parts cannot run together."""
    digest = hashlib.sha256()
    for part in (request.method, route_path(request.scope)):
        # A decoded path may hold any character, lone surrogates included.
        digest.update(part.encode("utf-8", "surrogatepass") + b"\n")
    digest.update(request.scope.get("query_string", b"") + b"\n")
    digest.update(body)
    return digest.digest()


def render(answer: BaseModel, status_code: int) -> JSONResponse:
    """The answer as FastAPI would send it; what is kept is these bytes."""
    return JSONResponse(answer.model_dump(mode="json", by_alias=True), status_code=status_code)


def _check_key(key: str) -> None:
    problem = None
    if key == "":
        problem = "is empty"
    elif len(key) > MAX_KEY_LENGTH:
        problem = f"is {len(key)} characters long, over the {MAX_KEY_LENGTH} allowed"
    elif not _PRINTABLE_ASCII.fullmatch(key):
        problem = "holds a character that is not printable ASCII"
    if problem is not None:
        raise errors.ValidationError(
            f"{FIELD}: the {IDEMPOTENCY_HEADER} {problem}; send 1 to {MAX_KEY_LENGTH} "
            "printable ASCII characters, a uuid4 say",
            details={"field": FIELD},
        )


def _hours(window: timedelta) -> int:
    return int(window.total_seconds() // 3600)
