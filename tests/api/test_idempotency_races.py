"""Two requests under one `Idempotency-Key` at once: exactly one creates, and the other
answers with what it created."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from attune.config import Settings
from db.engine import create_session_factory
from db.repositories import idempotency_key as idempotency_keys
from tests.api.test_idempotency import EXECUTIONS, executions_of, keyed, noop_action
from tests.conftest import api_client

WINDOW = timedelta(hours=1)


async def test_concurrent_requests_under_one_key_create_one_execution(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    settings: Settings,
    admin_token: str,
    tmp_path: Path,
) -> None:
    """Two API processes, the same request at once, several times over: one execution each
    time, every answer naming it, and all but one of them replayed."""
    action = await noop_action(api, tmp_path)
    body = {"action": action}
    async with (
        api_client(settings, token=admin_token) as one,
        api_client(settings, token=admin_token) as two,
    ):
        for _ in range(5):
            key = keyed(str(uuid.uuid4()))
            answers = await asyncio.gather(
                one.post(EXECUTIONS, json=body, headers=key),
                two.post(EXECUTIONS, json=body, headers=key),
                one.post(EXECUTIONS, json=body, headers=key),
            )
            assert [answer.status_code for answer in answers] == [201, 201, 201]
            assert len({answer.json()["id"] for answer in answers}) == 1
            replayed = [answer.headers.get("Idempotent-Replayed") for answer in answers]
            assert replayed.count(None) == 1
    assert await executions_of(engine, action) == 5


async def _record(engine: AsyncEngine, key: str, scope: str, body: bytes) -> bool:
    async with create_session_factory(engine)() as session:
        recorded = await _record_in(session, key, scope, body)
        await session.commit()
        return recorded


async def _record_in(session: AsyncSession, key: str, scope: str, body: bytes) -> bool:
    """`record_first` of a 201 answering `body`, in the caller's uncommitted transaction."""
    return await idempotency_keys.record_first(
        session,
        scope=scope,
        key=key,
        request_hash=b"h",
        status_code=201,
        response=body,
        window=WINDOW,
    )


async def test_the_second_writer_of_a_key_waits_for_the_first_and_loses(
    engine: AsyncEngine,
) -> None:
    """What makes the API case above exact: the second transaction's write of the key
    waits for the first's commit, then finds the key taken."""
    scope, key = f"identity:{uuid.uuid4()}", str(uuid.uuid4())
    async with create_session_factory(engine)() as first:
        assert await _record_in(first, key, scope, b"first")
        second = asyncio.create_task(_record(engine, key, scope, b"second"))
        await asyncio.sleep(0.5)
        assert not second.done()  # waiting on the unique index, not done
        await first.commit()
    assert await second is False
    async with create_session_factory(engine)() as session:
        kept = await idempotency_keys.find_live(session, scope=scope, key=key)
    assert kept is not None
    assert kept.response == b"first"


async def test_when_the_first_writer_rolls_back_the_second_records(engine: AsyncEngine) -> None:
    """An error answer keeps nothing: a request waiting behind it goes on as the first."""
    scope, key = f"identity:{uuid.uuid4()}", str(uuid.uuid4())
    async with create_session_factory(engine)() as first:
        await _record_in(first, key, scope, b"first")
        second = asyncio.create_task(_record(engine, key, scope, b"second"))
        await asyncio.sleep(0.5)
        await first.rollback()
    assert await second is True
    async with create_session_factory(engine)() as session:
        kept = await idempotency_keys.find_live(session, scope=scope, key=key)
    assert kept is not None
    assert kept.response == b"second"
