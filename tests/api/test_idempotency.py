"""`Idempotency-Key` on POST /executions and /executions/{id}/re-run: a repeat gets the first
answer and creates nothing; another request under the key is a 409; keys are the caller's."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from db.engine import create_session_factory
from db.models import Execution, IdempotencyKey
from tests.conftest import api_client
from tests.db.factories import unique
from tests.identities import make_identity, make_token
from tests.pack_folders import register_pack, write_pack

EXECUTIONS = "/api/v1/executions"
NOOP = {"runner_type": "noop", "parameters": {"n": {"type": "integer"}}}


async def noop_action(api: httpx.AsyncClient, tmp_path: Path) -> str:
    """A fresh action of a pack of its own, so its executions are this test's alone."""
    ref = unique("pk")
    await register_pack(api, write_pack(tmp_path, ref, actions={"noop": NOOP}))
    return f"{ref}.noop"


async def executions_of(engine: AsyncEngine, action: str) -> int:
    async with create_session_factory(engine)() as session:
        count = await session.scalar(
            select(func.count()).select_from(Execution).where(Execution.action_ref == action)
        )
    return count or 0


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def test_a_repeat_gets_the_first_answer_and_runs_nothing(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await noop_action(api, tmp_path)
    key = str(uuid.uuid4())
    body = {"action": action, "parameters": {"n": 1}}

    first = await api.post(EXECUTIONS, json=body, headers=keyed(key))
    again = await api.post(EXECUTIONS, json=body, headers=keyed(key))

    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content  # byte for byte, the status as first sent
    assert again.headers["content-type"] == "application/json"
    assert await executions_of(engine, action) == 1
    # Without a key every request runs.
    unkeyed = await api.post(EXECUTIONS, json=body)
    assert unkeyed.status_code == 201
    assert unkeyed.json()["id"] != first.json()["id"]
    assert await executions_of(engine, action) == 2


async def test_another_request_under_the_key_is_a_409(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await noop_action(api, tmp_path)
    key = str(uuid.uuid4())
    first = await api.post(
        EXECUTIONS, json={"action": action, "parameters": {"n": 1}}, headers=keyed(key)
    )
    assert first.status_code == 201, first.text

    other_body = await api.post(
        EXECUTIONS, json={"action": action, "parameters": {"n": 2}}, headers=keyed(key)
    )
    other_query = await api.post(
        f"{EXECUTIONS}?x=1", json={"action": action, "parameters": {"n": 1}}, headers=keyed(key)
    )
    other_path = await api.post(
        f"{EXECUTIONS}/{first.json()['id']}/re-run", json={}, headers=keyed(key)
    )

    for refused in (other_body, other_query, other_path):
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert "used for a different request" in error["message"]
        assert error["details"] == {"field": "header.Idempotency-Key"}
    assert await executions_of(engine, action) == 1


async def test_keys_are_the_callers_own(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    action = await noop_action(api, tmp_path)
    key = str(uuid.uuid4())
    body = {"action": action, "parameters": {"n": 1}}
    mine = await api.post(EXECUTIONS, json=body, headers=keyed(key))
    someone = await make_identity(api, permission_sets=["admin"])
    token = await make_token(api, someone["login"])

    async with api_client(settings, token=str(token["token"])) as theirs:
        same_key = await theirs.post(EXECUTIONS, json=body, headers=keyed(key))
        other_body = await theirs.post(
            EXECUTIONS, json={"action": action, "parameters": {"n": 9}}, headers=keyed(key)
        )

    # Neither my answer nor a 409 that would tell them my key is in use: a run of their own.
    assert same_key.status_code == 201, same_key.text
    assert "Idempotent-Replayed" not in same_key.headers
    assert same_key.json()["id"] != mine.json()["id"]
    assert same_key.json()["executor_id"] != mine.json()["executor_id"]
    assert other_body.status_code == 409  # their own key now, with their first request
    assert await executions_of(engine, action) == 2


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "is empty"),
        ("k" * 256, "256 characters long, over the 255 allowed"),
        ("tab\there", "not printable ASCII"),
        ("caf\u00e9", "not printable ASCII"),
    ],
)
async def test_an_invalid_key_is_a_422_naming_the_header(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path, key: str, problem: str
) -> None:
    action = await noop_action(api, tmp_path)

    response = await api.post(
        EXECUTIONS,
        json={"action": action},
        headers=[(b"Idempotency-Key", key.encode("latin-1"))],
    )

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["details"] == {"field": "header.Idempotency-Key"}
    assert "Idempotency-Key" in error["message"]
    assert problem in error["message"]
    assert await executions_of(engine, action) == 0


async def test_the_longest_key_is_accepted(api: httpx.AsyncClient, tmp_path: Path) -> None:
    action = await noop_action(api, tmp_path)
    key = "K" * 254 + "~"
    body = {"action": action}
    first = await api.post(EXECUTIONS, json=body, headers=keyed(key))
    again = await api.post(EXECUTIONS, json=body, headers=keyed(key))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_an_error_answer_is_not_kept(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await noop_action(api, tmp_path)
    key = str(uuid.uuid4())

    refused = await api.post(
        EXECUTIONS, json={"action": action, "parameters": {"n": "one"}}, headers=keyed(key)
    )
    fixed = await api.post(
        EXECUTIONS, json={"action": action, "parameters": {"n": 1}}, headers=keyed(key)
    )

    assert refused.status_code == 422
    assert fixed.status_code == 201, fixed.text  # not a 409: the refusal kept nothing
    assert "Idempotent-Replayed" not in fixed.headers
    assert await executions_of(engine, action) == 1


async def test_an_expired_key_runs_the_request_again_and_is_replaced(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await noop_action(api, tmp_path)
    key = str(uuid.uuid4())
    body = {"action": action}
    first = await api.post(EXECUTIONS, json=body, headers=keyed(key))
    await _expire(engine, key)

    after = await api.post(EXECUTIONS, json=body, headers=keyed(key))
    replay = await api.post(EXECUTIONS, json=body, headers=keyed(key))

    assert after.status_code == 201
    assert "Idempotent-Replayed" not in after.headers
    assert after.json()["id"] != first.json()["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == after.json()["id"]
    assert await executions_of(engine, action) == 2


async def test_expired_keys_are_deleted_when_new_ones_are_written(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await noop_action(api, tmp_path)
    old = str(uuid.uuid4())
    await api.post(EXECUTIONS, json={"action": action}, headers=keyed(old))
    await _expire(engine, old)

    await api.post(EXECUTIONS, json={"action": action}, headers=keyed(str(uuid.uuid4())))

    async with create_session_factory(engine)() as session:
        left = await session.scalar(select(func.count()).where(IdempotencyKey.key == old))
    assert left == 0


async def test_a_rerun_takes_a_key_too(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await noop_action(api, tmp_path)
    original = (await api.post(EXECUTIONS, json={"action": action})).json()
    key = keyed(str(uuid.uuid4()))
    path = f"{EXECUTIONS}/{original['id']}/re-run"

    first = await api.post(path, json={"parameters": {"n": 3}}, headers=key)
    again = await api.post(path, json={"parameters": {"n": 3}}, headers=key)

    assert first.status_code == 201, first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert await executions_of(engine, action) == 2


async def test_the_key_is_kept_with_the_execution_as_written(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    """The row and the key commit together; the answer kept is the one sent."""
    action = await noop_action(api, tmp_path)
    key = str(uuid.uuid4())

    sent = await api.post(EXECUTIONS, json={"action": action}, headers=keyed(key))

    async with create_session_factory(engine)() as session:
        kept = (
            await session.scalars(select(IdempotencyKey).where(IdempotencyKey.key == key))
        ).one()
    assert (kept.status_code, kept.response) == (201, sent.content)
    assert kept.scope.startswith("identity:")
    answer: dict[str, Any] = json.loads(kept.response)
    assert answer["status"] == sent.json()["status"] == "scheduled"
    window = kept.expires_at - kept.created
    assert 23.9 * 3600 < window.total_seconds() <= 24 * 3600


async def _expire(engine: AsyncEngine, key: str) -> None:
    async with create_session_factory(engine).begin() as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == key)
            .values(expires_at=func.now() - timedelta(minutes=1))
        )
