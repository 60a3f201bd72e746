"""While Temporal is unreachable, POST /executions, /events and /webhooks answer within about
a second, with the executions kept `requested`; a worker's reconciler starts them later.

Two outages: an address where nothing ever listened, and a Temporal the API had reached
that then went away (here: a TCP relay to the session's server, closed), against which
the client retries each start for about ten seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from attune.engine.reconciler import reconcile_orphans
from attune.engine.workflow_starts import WorkflowStarter
from db.engine import create_session_factory
from tests.api.test_idempotent_events import hook_pack
from tests.conftest import TemporalServer, api_client, free_port
from tests.executions import wait_for_status

# The API bounds a start at 1 s (it took 10 s before); the rest is the request's own work,
# which a busy two-core machine has stretched to 0.9 s.
PROMPTLY = 3.0


class Relay:
    """A TCP relay to Temporal: what the API reaches it through, until `close`."""

    def __init__(self, target: str) -> None:
        self.host, port = target.rsplit(":", 1)
        self.port = int(port)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def open(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    async def close(self) -> None:
        """Temporal goes away: no new connection, and those open are cut."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._pipes):
            writer.close()
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        self._pipes |= {writer, upstream_writer}
        await asyncio.gather(
            self._pump(reader, upstream_writer), self._pump(upstream_reader, writer)
        )

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self._pipes.discard(writer)


@pytest.fixture
async def temporal_gone(
    settings: Settings, temporal: TemporalServer, admin_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An API that reached Temporal (its health said so), after Temporal went away."""
    relay = Relay(temporal.address)
    through_relay = settings.model_copy(update={"temporal_address": await relay.open()})
    async with api_client(through_relay, token=admin_token) as api:
        health = await api.get("/api/v1/health")
        assert health.json()["temporal"] == "ok", health.text
        await relay.close()
        yield api


async def timed_post(api: httpx.AsyncClient, path: str, body: object) -> httpx.Response:
    began = time.monotonic()
    response = await api.post(path, json=body)
    took = time.monotonic() - began
    assert took < PROMPTLY, f"POST {path} took {took:.1f} s"
    return response


async def reconcile(engine: AsyncEngine, temporal: TemporalServer, settings: Settings) -> None:
    """One reconciler pass, as a worker runs it, with Temporal back."""
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    await reconcile_orphans(create_session_factory(engine), starter, grace=timedelta(0))


@pytest.mark.usefixtures("worker")
async def test_an_execution_is_kept_while_nothing_listens_at_temporals_address(
    api: httpx.AsyncClient,
    settings: Settings,
    admin_token: str,
    engine: AsyncEngine,
    temporal: TemporalServer,
) -> None:
    nowhere = settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    async with api_client(nowhere, token=admin_token) as broken:
        created = await timed_post(broken, "/api/v1/executions", {"action": "core.noop"})

    assert created.status_code == 201, created.text
    assert created.json()["status"] == "requested"
    kept = await api.get(f"/api/v1/executions/{created.json()['id']}")
    assert kept.json()["status"] == "requested"
    await reconcile(engine, temporal, settings)
    assert (await wait_for_status(api, created.json()["id"]))["status"] == "completed"


@pytest.mark.usefixtures("worker")
async def test_executions_are_kept_while_a_reached_temporal_is_gone(
    api: httpx.AsyncClient,
    temporal_gone: httpx.AsyncClient,
    settings: Settings,
    engine: AsyncEngine,
    temporal: TemporalServer,
    tmp_path: Path,
) -> None:
    trigger = await hook_pack(api, tmp_path)

    created = await timed_post(temporal_gone, "/api/v1/executions", {"action": "core.noop"})
    emitted = await timed_post(temporal_gone, "/api/v1/events", {"trigger": trigger})
    delivered = await timed_post(temporal_gone, f"/api/v1/webhooks/{trigger}", {"n": 1})

    assert created.status_code == 201, created.text
    assert created.json()["status"] == "requested"
    assert (emitted.status_code, delivered.status_code) == (202, 202)
    ids = [
        created.json()["id"],
        *emitted.json()["execution_ids"],
        *delivered.json()["execution_ids"],
    ]
    assert len(ids) == 3
    for id in ids:
        assert (await api.get(f"/api/v1/executions/{id}")).json()["status"] == "requested"
    await reconcile(engine, temporal, settings)
    for id in ids:
        assert (await wait_for_status(api, id))["status"] == "completed"
