"""`attune execution run` and `re-run` send an Idempotency-Key and retry a request that got
no answer with it, so an action runs once however the connection fails. The CLI runs in a
process of its own against the real API, through a relay that loses the first answer."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.attune import test_cli_inquiries
from tests.attune.test_cli_inquiries import run_attune
from tests.db.factories import unique
from tests.pack_folders import register_pack, write_pack

api_url = test_cli_inquiries.api_url

NOOP = {"runner_type": "noop", "parameters": {"n": {"type": "integer"}}}
UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class LosingRelay:
    """Passes HTTP through to the API, except the first request: its answer is lost (the
    API did the work, the client hears nothing), or it is answered 503 by the relay."""

    def __init__(self, api_url: str, first: str) -> None:
        target = urlsplit(api_url)
        assert target.hostname is not None
        assert target.port is not None
        self.host, self.port = target.hostname, target.port
        self.first = first
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def open(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        first = self.connections == 1
        if first and self.first == "503":
            await reader.read(65536)
            writer.write(UNAVAILABLE)
            await writer.drain()
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        answer = self._lose if first else self._pump
        await asyncio.gather(self._pump(reader, upstream_writer), answer(upstream_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _lose(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The API's answer arrives, and is dropped with the client's connection."""
        await reader.read(65536)
        writer.close()


@pytest.fixture(params=["lost answer", "503"])
async def relay(api_url: str, request: pytest.FixtureRequest) -> AsyncIterator[LosingRelay]:
    losing = LosingRelay(api_url, "503" if request.param == "503" else "lost")
    yield losing
    await losing.close()


async def listed(api: httpx.AsyncClient, action: str) -> list[int]:
    page = await api.get("/api/v1/executions", params={"action": action})
    return [item["id"] for item in page.json()["items"]]


async def test_run_retries_a_lost_answer_and_the_action_runs_once(
    api: httpx.AsyncClient, admin_token: str, relay: LosingRelay, tmp_path: Path
) -> None:
    ref = unique("pk")
    await register_pack(api, write_pack(tmp_path, ref, actions={"noop": NOOP}))
    action = f"{ref}.noop"

    ran = await run_attune(
        await relay.open(),
        admin_token,
        tmp_path,
        "execution",
        "run",
        action,
        "--parameters",
        '{"n": 1}',
        "-o",
        "json",
    )

    assert ran.code == 0, ran.stderr
    assert relay.connections == 2  # the first try got no answer, the second one did
    printed = json.loads(ran.stdout)
    assert printed["action_ref"] == action
    assert printed["parameters"] == {"n": 1}
    assert await listed(api, action) == [printed["id"]]


async def test_rerun_retries_a_lost_answer_and_runs_once(
    api: httpx.AsyncClient, admin_token: str, relay: LosingRelay, tmp_path: Path
) -> None:
    ref = unique("pk")
    await register_pack(api, write_pack(tmp_path, ref, actions={"noop": NOOP}))
    action = f"{ref}.noop"
    original = (await api.post("/api/v1/executions", json={"action": action})).json()

    ran = await run_attune(
        await relay.open(),
        admin_token,
        tmp_path,
        "execution",
        "re-run",
        str(original["id"]),
        "-o",
        "json",
    )

    assert ran.code == 0, ran.stderr
    assert relay.connections == 2
    again = json.loads(ran.stdout)
    assert again["rerun_of"] == original["id"]
    assert sorted(await listed(api, action)) == [original["id"], again["id"]]


async def test_run_gives_up_on_an_api_that_never_answers(admin_token: str, tmp_path: Path) -> None:
    closed = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = closed.sockets[0].getsockname()[1]
    async with closed:
        ran = await run_attune(
            f"http://127.0.0.1:{port}", admin_token, tmp_path, "execution", "run", "core.noop"
        )

    assert ran.code == 1
    assert "cannot reach the Attune API" in ran.stderr


async def test_run_reports_a_refusal_at_once(
    api: httpx.AsyncClient, api_url: str, admin_token: str, tmp_path: Path
) -> None:
    unknown = await run_attune(api_url, admin_token, tmp_path, "execution", "run", "nope.nothing")
    not_json = await run_attune(
        api_url, admin_token, tmp_path, "execution", "run", "core.noop", "--parameters", "{n: 1}"
    )

    assert unknown.code == 1
    assert "HTTP 404" in unknown.stderr
    assert not_json.code == 2
    assert "--params-json is not JSON" in not_json.stderr
