"""Hostile requests get a clear 4xx before they cost anything, and change nothing.

Each test is one of the findings of the hardening issue, tried as an attacker would: a
stranger's huge body, JSON nested past what a read can serve, numbers past int64, NUL
characters, paths outside the allowed pack folders.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.main import create_app
from attune.config import Settings
from attune.json_limits import MAX_JSON_DEPTH
from tests.conftest import api_client
from tests.db.factories import unique
from tests.pack_folders import register_pack, write_pack

INT64_MAX = 2**63 - 1


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


class CountingBody:
    """A request body that counts how much of it the server pulled."""

    def __init__(self, total: int, chunk: int = 65_536) -> None:
        self.total = total
        self.chunk = chunk
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            size = min(self.chunk, self.total - self.sent)
            self.sent += size
            yield b"x" * size


@pytest.fixture
async def small_limit_api(settings: Settings, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(update={"max_body_bytes": 64 * 1024})
    async with api_client(limited, token=admin_token) as client:
        yield client


@pytest.fixture
async def small_limit_stranger(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(update={"max_body_bytes": 64 * 1024})
    async with api_client(limited) as client:
        yield client


# --- 3. deep nesting ------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 256, 1000, 100_000])
async def test_an_event_nested_too_deep_is_a_422_naming_the_limit(
    api: httpx.AsyncClient, depth: int
) -> None:
    body = '{"trigger": "core.webhook", "payload": ' + '{"a": ' * depth + "1" + "}" * depth + "}"

    response = await api.post(
        "/api/v1/events", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in response.json()["error"]["message"]


async def test_the_deepest_accepted_event_still_reads_back_in_every_list(
    api: httpx.AsyncClient,
) -> None:
    # The payload sits one level inside the body: this is the deepest body accepted.
    payload = nested(MAX_JSON_DEPTH - 1)
    created = await api.post("/api/v1/events", json={"trigger": "core.webhook", "payload": payload})
    assert created.status_code == 202, created.text

    shown = await api.get(f"/api/v1/events/{created.json()['event_id']}")
    newest = await api.get("/api/v1/events")
    enforcements = await api.get("/api/v1/enforcements")

    assert shown.status_code == newest.status_code == enforcements.status_code == 200
    assert shown.json()["payload"] == payload


@pytest.mark.parametrize("depth", [256, 1000, 50_000])
async def test_a_deep_webhook_is_a_422_not_a_500(api: httpx.AsyncClient, depth: int) -> None:
    body = "[" * depth + "]" * depth

    response = await api.post("/api/v1/webhooks/core.webhook", content=body)

    assert response.status_code == 422, response.text
    assert "nested deeper than" in response.json()["error"]["message"]


async def test_deep_parameters_and_answers_are_refused_too(api: httpx.AsyncClient) -> None:
    run = await api.post(
        "/api/v1/executions", json={"action": "core.echo", "parameters": {"message": nested(300)}}
    )
    answer = await api.post("/api/v1/inquiries/1/respond", json={"response": nested(300)})

    assert run.status_code == answer.status_code == 422


# --- NUL characters and lone surrogates: text PostgreSQL cannot hold --------------------


@pytest.mark.parametrize(
    "payload",
    [{"text": "a\u0000b"}, {"a\u0000": 1}, {"deep": [{"x": ["\u0000"]}]}, {"s": "\ud800"}],
)
async def test_unstorable_text_in_a_body_is_a_422_naming_the_field(
    api: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    body = json.dumps({"trigger": "core.webhook", "payload": payload})

    response = await api.post(
        "/api/v1/events", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["field"].startswith("body.payload")


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/actions/core%00.echo", "path"),
        ("/api/v1/executions?action=core.echo%00", "query.action"),
        ("/api/v1/events?trigger=%00", "query.trigger"),
    ],
)
async def test_a_nul_in_the_path_or_query_is_a_422_naming_it(
    api: httpx.AsyncClient, url: str, field: str
) -> None:
    response = await api.get(url)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["field"] == field


# --- 5. numbers past int64 ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/executions/{INT64_MAX + 1}",
        f"/api/v1/events/{INT64_MAX + 1}",
        f"/api/v1/enforcements/{2**70}",
        f"/api/v1/inquiries/{INT64_MAX + 1}",
        f"/api/v1/executions?parent={INT64_MAX + 1}",
        f"/api/v1/executions?before_id={INT64_MAX + 1}",
        f"/api/v1/enforcements?event={INT64_MAX + 1}",
        f"/api/v1/inquiries?execution={INT64_MAX + 1}",
        f"/api/v1/actions?offset={INT64_MAX + 1}",
    ],
)
async def test_an_integer_past_int64_is_a_422(api: httpx.AsyncClient, url: str) -> None:
    response = await api.get(url)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_the_largest_id_is_simply_not_found(api: httpx.AsyncClient) -> None:
    assert (await api.get(f"/api/v1/executions/{INT64_MAX}")).status_code == 404
    assert (await api.post(f"/api/v1/executions/{INT64_MAX}/cancel")).status_code == 404


# --- 4. body size, and authentication before the body ----------------------------------


async def test_a_declared_oversized_body_is_a_413_before_it_is_read(
    small_limit_api: httpx.AsyncClient,
) -> None:
    body = CountingBody(10 * 1024 * 1024)

    response = await small_limit_api.post(
        "/api/v1/events",
        content=body,
        headers={"content-type": "application/json", "content-length": str(body.total)},
    )

    assert response.status_code == 413
    assert "65536 bytes" in response.json()["error"]["message"]
    assert body.sent <= body.chunk  # at most what the transport pulls before asking


async def test_an_undeclared_oversized_body_is_cut_off_at_the_limit(
    small_limit_api: httpx.AsyncClient,
) -> None:
    body = CountingBody(10 * 1024 * 1024, chunk=16 * 1024)

    response = await small_limit_api.post(
        "/api/v1/events", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert body.sent <= 64 * 1024 + body.chunk


async def test_a_strangers_huge_webhook_is_a_401_without_reading_the_body(
    small_limit_stranger: httpx.AsyncClient,
) -> None:
    body = CountingBody(1024 * 1024 * 1024)

    response = await small_limit_stranger.post("/api/v1/webhooks/core.webhook", content=body)

    assert response.status_code == 401
    assert body.sent <= body.chunk


async def test_a_signed_looking_huge_webhook_is_read_only_up_to_the_limit(
    small_limit_stranger: httpx.AsyncClient,
) -> None:
    body = CountingBody(1024 * 1024 * 1024, chunk=16 * 1024)
    headers = {"X-Attune-Timestamp": "1", "X-Attune-Signature": "sha256=" + "0" * 64}

    response = await small_limit_stranger.post(
        "/api/v1/webhooks/core.webhook", content=body, headers=headers
    )

    assert response.status_code == 413
    assert body.sent <= 64 * 1024 + body.chunk


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/api/v1/events"),
        ("POST", "/api/v1/executions"),
        ("POST", "/api/v1/packs/register"),
        ("PATCH", "/api/v1/policies/core.x"),
    ],
)
async def test_malformed_json_without_a_token_is_a_401(
    anonymous_api: httpx.AsyncClient, method: str, url: str
) -> None:
    response = await anonymous_api.request(
        method, url, content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 401


# --- 2. packs come from where the operator said ---------------------------------------


async def test_registering_a_folder_outside_the_pack_folders_is_a_403(
    api: httpx.AsyncClient,
) -> None:
    for path in ("/etc", "/", "/root/.ssh"):
        response = await api.post("/api/v1/packs/register", json={"path": path})
        assert response.status_code == 403, response.text
        assert "ATTUNE_PACKS_DIRS" in response.json()["error"]["message"]


async def test_a_link_from_an_allowed_folder_to_outside_is_refused(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    link = tmp_path / "escape"
    link.symlink_to("/etc")

    response = await api.post("/api/v1/packs/register", json={"path": str(link)})

    assert response.status_code == 403


async def test_a_pack_yaml_linked_to_a_secret_file_does_not_leak_it(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$salt$hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
    folder = tmp_path / "leaky"
    folder.mkdir()
    (folder / "pack.yaml").symlink_to(secret)

    response = await api.post("/api/v1/packs/register", json={"path": str(folder)})

    assert response.status_code == 422, response.text
    assert "$6$salt$hash" not in response.text
    assert "daemon" not in response.text
    assert "outside the pack" in response.text


@pytest.mark.parametrize(
    "path",
    ["relative/pack", "/" + "a" * 5000, "/tmp/" + "b" * 300, "/tmp/a\u0000b", ""],
)
async def test_a_path_that_is_not_one_is_a_422(api: httpx.AsyncClient, path: str) -> None:
    response = await api.post("/api/v1/packs/register", json={"path": path})

    assert response.status_code == 422, response.text


async def test_a_pack_inside_the_allowed_folders_registers(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(tmp_path, ref, triggers={"hook": {"type": "webhook"}})

    summary = await register_pack(api, folder)

    assert summary["pack"] == ref


@pytest.mark.parametrize("body", [b"\x80", b"\x00" * 5, '{"a": "é"}'.encode("utf-16")])
async def test_a_body_that_is_not_utf8_is_a_422_not_a_400(
    api: httpx.AsyncClient, body: bytes
) -> None:
    response = await api.post(
        "/api/v1/events", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert "not UTF-8" in response.json()["error"]["message"]


async def test_a_long_unknown_ref_is_not_echoed_back_whole(api: httpx.AsyncClient) -> None:
    ref = "core." + "x" * 4000

    response = await api.get(f"/api/v1/actions/{ref}")

    assert response.status_code == 404
    assert len(response.text) < 500


async def test_behind_a_root_path_the_guard_still_guards(settings: Settings) -> None:
    # As `uvicorn --root-path /attune` behind a proxy: the scope's path includes the root.
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, root_path="/attune")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://attune.test") as client,
    ):
        stranger = await client.get("/attune/api/v1/executions")
        health = await client.get("/attune/api/v1/health")

    assert stranger.status_code == 401
    assert health.status_code in (200, 503)
