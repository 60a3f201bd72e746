"""While PostgreSQL is gone the API answers 503 naming it, within seconds: never a 500, never
a hang. Against a real server of the test's own, stopped under a running API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from attune.auth.tokens import issue_token
from attune.config import Settings
from attune.embedded_postgres import EmbeddedPostgres, ensure_database, start_embedded_postgres
from db import migrate
from db.engine import create_engine, create_session_factory
from db.repositories import identity as identities
from tests.conftest import api_client, hold_sets
from tests.webhooks import signed_headers

# "A few seconds at most": the API bounds each connect to PostgreSQL at 3 s.
BOUND_SECONDS = 5.0


@dataclass
class Throwaway:
    server: EmbeddedPostgres
    settings: Settings
    token: str


@pytest.fixture
async def throwaway(settings: Settings, tmp_path: Path) -> AsyncIterator[Throwaway]:
    """A migrated PostgreSQL of this test's own, an admin's token in it, and settings on it."""
    server = await asyncio.to_thread(start_embedded_postgres, tmp_path / "pg", throwaway=True)
    try:
        url = await ensure_database(server.socket_dir, "attune")
        await migrate.upgrade(url)
        engine = create_engine(url)
        async with create_session_factory(engine).begin() as session:
            identity = await identities.repository.create(session, login="outage-admin")
            await hold_sets(session, identity.id, ["admin"])
            token = await issue_token(session, identity_id=identity.id, label="outage")
        await engine.dispose()
        yield Throwaway(server, settings.model_copy(update={"database_url": url}), token)
    finally:
        await asyncio.to_thread(server.stop)  # again, after a test stopped it, is harmless


async def timed(request: Awaitable[httpx.Response]) -> httpx.Response:
    began = time.monotonic()
    response = await request
    took = time.monotonic() - began
    assert took < BOUND_SECONDS, f"the answer took {took:.1f} s"
    return response


def assert_names_postgresql(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert "PostgreSQL" in error["message"]
    assert error["details"] == {"service": "postgresql"}


async def test_503_naming_postgresql_while_it_is_gone(throwaway: Throwaway) -> None:
    async with api_client(throwaway.settings, token=throwaway.token) as api:
        # Connections in the pool and a token the process trusts: what a stop finds.
        assert (await api.get("/api/v1/executions")).status_code == 200
        assert (await api.get("/api/v1/health")).status_code == 200
        await asyncio.to_thread(throwaway.server.stop)

        listed = await timed(api.get("/api/v1/executions"))
        created = await timed(api.post("/api/v1/executions", json={"action": "core.noop"}))
        emitted = await timed(api.post("/api/v1/events", json={"trigger": "core.webhook"}))
        health = await timed(api.get("/api/v1/health"))

    assert_names_postgresql(listed)
    assert_names_postgresql(created)
    assert_names_postgresql(emitted)
    assert health.status_code == 503
    body = health.json()
    assert (body["status"], body["database"]) == ("unavailable", "unavailable")
    assert "PostgreSQL" in body["errors"]["database"]


async def test_503_for_a_token_no_one_has_checked_yet(throwaway: Throwaway) -> None:
    """The request guard looks the token up before any route runs: that is a 503 too."""
    await asyncio.to_thread(throwaway.server.stop)

    async with (
        api_client(throwaway.settings, token=throwaway.token) as api,
        api_client(throwaway.settings) as anonymous,
    ):
        listed = await timed(api.get("/api/v1/executions"))
        created = await timed(api.post("/api/v1/executions", json={"action": "core.noop"}))
        # A signed webhook's trigger (and its secret) is read before the signature is checked.
        body = b"{}"
        signed = await timed(
            anonymous.post(
                "/api/v1/webhooks/core.webhook",
                content=body,
                headers={
                    **signed_headers("not-the-secret", body),
                    "Content-Type": "application/json",
                },
            )
        )

    assert_names_postgresql(listed)
    assert_names_postgresql(created)
    assert_names_postgresql(signed)
