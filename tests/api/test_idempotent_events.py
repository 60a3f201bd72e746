"""`Idempotency-Key` on POST /events and POST /webhooks/{trigger}: a repeat gets the first
answer and emits no second event; a signed delivery's key is the webhook's own."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_session_factory
from db.models import Event, Execution
from tests.api.test_hostile_events import webhook_secret
from tests.db.factories import unique
from tests.pack_folders import register_pack, write_pack
from tests.webhooks import signed_headers


async def hook_pack(api: httpx.AsyncClient, tmp_path: Path) -> str:
    """A webhook trigger whose one rule runs `core.noop`; its ref."""
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        triggers={"hook": {"type": "webhook"}},
        rules={"run": {"trigger": f"{ref}.hook", "action": {"ref": "core.noop"}}},
    )
    await register_pack(api, folder)
    return f"{ref}.hook"


async def counts(engine: AsyncEngine, trigger: str) -> tuple[int, int]:
    """How many events the trigger has, and executions its events caused."""
    async with create_session_factory(engine)() as session:
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.trigger_ref == trigger)
        )
        executions = await session.scalar(
            select(func.count()).select_from(Execution).where(Execution.trigger_ref == trigger)
        )
    return events or 0, executions or 0


async def test_a_repeated_event_is_answered_again_and_emitted_once(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    trigger = await hook_pack(api, tmp_path)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"trigger": trigger, "payload": {"n": 1}}

    first = await api.post("/api/v1/events", json=body, headers=key)
    again = await api.post("/api/v1/events", json=body, headers=key)
    other = await api.post(
        "/api/v1/events", json={"trigger": trigger, "payload": {"n": 2}}, headers=key
    )

    assert first.status_code == 202, first.text
    assert len(first.json()["execution_ids"]) == 1
    assert (again.status_code, again.content) == (202, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert "different request" in other.json()["error"]["message"]
    assert await counts(engine, trigger) == (1, 1)


async def test_a_repeated_webhook_with_a_token_is_answered_again(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    trigger = await hook_pack(api, tmp_path)
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = await api.post(f"/api/v1/webhooks/{trigger}", json={"n": 1}, headers=key)
    again = await api.post(f"/api/v1/webhooks/{trigger}", json={"n": 1}, headers=key)

    assert first.status_code == 202, first.text
    assert (again.status_code, again.content) == (202, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await counts(engine, trigger) == (1, 1)


async def test_a_signed_delivery_sent_again_under_its_key_is_no_replay(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    """A sender that got no answer sends the delivery again, as it was or signed anew: with
    its key it gets the first answer; without one the same signature is a replay (409)."""
    trigger = await hook_pack(api, tmp_path)
    secret = await webhook_secret(api, trigger)
    path = f"/api/v1/webhooks/{trigger}"
    body = json.dumps({"n": 1}).encode()
    key = {"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
    signed = signed_headers(secret, body)

    first = await anonymous_api.post(path, content=body, headers={**signed, **key})
    as_it_was = await anonymous_api.post(path, content=body, headers={**signed, **key})
    resigned = signed_headers(secret, body, timestamp=int(time.time()) + 1)
    signed_anew = await anonymous_api.post(path, content=body, headers={**resigned, **key})
    without_key = await anonymous_api.post(
        path, content=body, headers={**signed, "Content-Type": "application/json"}
    )

    assert first.status_code == 202, first.text
    for repeat in (as_it_was, signed_anew):
        assert (repeat.status_code, repeat.content) == (202, first.content)
        assert repeat.headers["Idempotent-Replayed"] == "true"
    assert without_key.status_code == 409
    assert "replay" in without_key.json()["error"]["message"]
    assert await counts(engine, trigger) == (1, 1)


async def test_a_signed_deliverys_key_is_the_webhooks_not_a_token_holders(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    trigger = await hook_pack(api, tmp_path)
    secret = await webhook_secret(api, trigger)
    path = f"/api/v1/webhooks/{trigger}"
    body = json.dumps({"n": 1}).encode()
    key = {"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}

    signed = await anonymous_api.post(
        path, content=body, headers={**signed_headers(secret, body), **key}
    )
    with_token = await api.post(path, content=body, headers=key)
    unsigned = await anonymous_api.post(path, content=body, headers=key)

    assert signed.status_code == with_token.status_code == 202
    assert "Idempotent-Replayed" not in with_token.headers
    assert with_token.json()["event_id"] != signed.json()["event_id"]
    # The key gives a stranger nothing: without a token or a signature it is still a 401.
    assert unsigned.status_code == 401
    assert await counts(engine, trigger) == (2, 2)


async def test_a_bad_key_on_a_webhook_is_a_422_and_emits_nothing(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    trigger = await hook_pack(api, tmp_path)

    response = await api.post(
        f"/api/v1/webhooks/{trigger}", json={"n": 1}, headers={"Idempotency-Key": "x" * 256}
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"field": "header.Idempotency-Key"}
    assert await counts(engine, trigger) == (0, 0)
