"""Packs, actions, triggers, rules and policies over HTTP; the token all but health need."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.main import create_app
from attune.config import Settings
from tests.db.factories import unique
from tests.pack_folders import register_pack, write_pack

PUBLIC = {"/api/v1/health", "/api/v1/auth/login"}
SAMPLE_VALUES = {
    "{id}": "1",
    "{ref}": "core.nothing",
    "{trigger_ref}": "core.webhook",
    "{scope}": "system",
    "{name}": "k",
    "{login}": "someone",
}


def _every_operation() -> list[tuple[str, str]]:
    """Each operation of the OpenAPI document, its path filled in: new routes join by
    themselves, so none can be added without the proof that it refuses strangers."""
    app = create_app(Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    operations: list[tuple[str, str]] = []
    for path, methods in app.openapi()["paths"].items():
        if path in PUBLIC:
            continue
        for placeholder, value in SAMPLE_VALUES.items():
            path = path.replace(placeholder, value)
        assert "{" not in path, f"give {path} a sample value"
        operations.extend((method.upper(), path) for method in methods)
    return operations


PROTECTED = _every_operation()


def test_the_walk_finds_every_operation() -> None:
    assert len(PROTECTED) >= 30  # 31 operations, health the one public
    assert ("POST", "/api/v1/packs/upload") in PROTECTED
    assert ("POST", "/api/v1/webhooks/core.webhook") in PROTECTED


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_a_request_without_a_token_is_a_401(
    anonymous_api: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await anonymous_api.request(method, path, json={})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_a_bad_token_is_a_401_and_health_needs_none(
    anonymous_api: httpx.AsyncClient,
) -> None:
    refused = await anonymous_api.get(
        "/api/v1/executions", headers={"Authorization": "Bearer att_not-a-real-token"}
    )
    health = await anonymous_api.get("/api/v1/health")

    assert refused.status_code == 401
    assert health.status_code == 200


async def test_the_openapi_document_describes_every_route(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()

    paths = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert paths == {
        ("GET", "/api/v1/health"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/whoami"),
        ("GET", "/api/v1/identities"),
        ("POST", "/api/v1/identities"),
        ("GET", "/api/v1/identities/{login}"),
        ("PATCH", "/api/v1/identities/{login}"),
        ("DELETE", "/api/v1/identities/{login}"),
        ("GET", "/api/v1/identities/{login}/tokens"),
        ("POST", "/api/v1/identities/{login}/tokens"),
        ("DELETE", "/api/v1/identities/{login}/tokens/{id}"),
        ("GET", "/api/v1/audit"),
        ("GET", "/api/v1/workers"),
        ("GET", "/api/v1/packs"),
        ("GET", "/api/v1/packs/{ref}"),
        ("DELETE", "/api/v1/packs/{ref}"),
        ("POST", "/api/v1/packs/register"),
        ("POST", "/api/v1/packs/upload"),
        ("GET", "/api/v1/actions"),
        ("GET", "/api/v1/actions/{ref}"),
        ("GET", "/api/v1/actions/{ref}/queue-stats"),
        ("GET", "/api/v1/triggers"),
        ("GET", "/api/v1/triggers/{ref}"),
        ("POST", "/api/v1/triggers/{ref}/webhook-secret"),
        ("GET", "/api/v1/rules"),
        ("GET", "/api/v1/rules/{ref}"),
        ("PATCH", "/api/v1/rules/{ref}"),
        ("GET", "/api/v1/sensors"),
        ("GET", "/api/v1/sensors/{ref}"),
        ("GET", "/api/v1/policies"),
        ("POST", "/api/v1/policies"),
        ("GET", "/api/v1/policies/{ref}"),
        ("PATCH", "/api/v1/policies/{ref}"),
        ("DELETE", "/api/v1/policies/{ref}"),
        ("GET", "/api/v1/events"),
        ("POST", "/api/v1/events"),
        ("GET", "/api/v1/events/{id}"),
        ("GET", "/api/v1/enforcements"),
        ("GET", "/api/v1/enforcements/{id}"),
        ("GET", "/api/v1/executions"),
        ("POST", "/api/v1/executions"),
        ("GET", "/api/v1/executions/{id}"),
        ("POST", "/api/v1/executions/{id}/cancel"),
        ("POST", "/api/v1/executions/{id}/re-run"),
        ("GET", "/api/v1/executions/{id}/output"),
        ("GET", "/api/v1/executions/{id}/output/stream"),
        ("GET", "/api/v1/executions/{id}/artifacts"),
        ("GET", "/api/v1/artifacts"),
        ("POST", "/api/v1/artifacts"),
        ("GET", "/api/v1/artifacts/{id}"),
        ("PATCH", "/api/v1/artifacts/{id}"),
        ("DELETE", "/api/v1/artifacts/{id}"),
        ("GET", "/api/v1/artifacts/{id}/content"),
        ("GET", "/api/v1/stream"),
        ("GET", "/api/v1/inquiries"),
        ("GET", "/api/v1/inquiries/{id}"),
        ("POST", "/api/v1/inquiries/{id}/respond"),
        ("POST", "/api/v1/webhooks/{trigger_ref}"),
        ("GET", "/api/v1/keys"),
        ("GET", "/api/v1/keys/{scope}/{name}"),
        ("PUT", "/api/v1/keys/{scope}/{name}"),
        ("DELETE", "/api/v1/keys/{scope}/{name}"),
        ("POST", "/api/v1/codec/decode"),
        ("POST", "/api/v1/codec/encode"),
        ("GET", "/api/v1/permission-sets"),
        ("POST", "/api/v1/permission-sets"),
        ("GET", "/api/v1/permission-sets/{name}"),
        ("PATCH", "/api/v1/permission-sets/{name}"),
        ("DELETE", "/api/v1/permission-sets/{name}"),
    }
    schemas = document["components"]["schemas"]
    for schema in (
        "ExecutionRead",
        "ExecutionCreate",
        "IngestedRead",
        "ActionRead",
        "RuleRead",
        "PolicyCreate",
        "PolicyUpdate",
        "PolicyRead",
    ):
        assert schema in schemas
    assert "bearer" in str(document["components"]["securitySchemes"]).lower()


async def test_the_core_pack_is_registered_and_listed(api: httpx.AsyncClient) -> None:
    actions = (await api.get("/api/v1/actions", params={"pack": "core", "limit": 1000})).json()
    triggers = (await api.get("/api/v1/triggers", params={"pack": "core"})).json()

    assert {item["ref"] for item in actions["items"]} >= {
        "core.noop",
        "core.echo",
        "core.local",
        "core.http",
    }
    assert "core.webhook" in {item["ref"] for item in triggers["items"]}
    echo = (await api.get("/api/v1/actions/core.echo")).json()
    assert echo["parameters"]["required"] == ["message"]


async def test_registering_a_pack_and_reading_it_back(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        triggers={"hook": {"type": "webhook"}},
        rules={"always": {"trigger": f"{ref}.hook", "action": {"ref": "core.noop"}}},
    )

    await register_pack(api, folder)

    pack = (await api.get(f"/api/v1/packs/{ref}")).json()
    assert pack["path"] == str(folder)
    rule = (await api.get(f"/api/v1/rules/{ref}.always")).json()
    assert rule["action_ref"] == "core.noop"
    assert rule["trigger_ref"] == f"{ref}.hook"
    listed = (await api.get("/api/v1/rules", params={"trigger": f"{ref}.hook"})).json()
    assert [item["ref"] for item in listed["items"]] == [f"{ref}.always"]


async def test_a_broken_pack_is_refused_whole_naming_file_and_field(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        actions={"fine": {"runner_type": "noop"}, "broken": {"runner_type": "teleport"}},
        triggers={"hook": {"type": "webhook"}},
    )

    response = await api.post("/api/v1/packs/register", json={"path": str(folder)})

    assert response.status_code == 422
    error = response.json()["error"]
    assert "actions/broken.yaml" in error["message"]
    assert "runner_type" in error["message"]
    problems = error["details"]["problems"]
    assert {"file": "actions/broken.yaml", "field": "runner_type"}.items() <= problems[0].items()
    # Nothing of it was written, not even the parts without problems.
    assert (await api.get(f"/api/v1/packs/{ref}")).status_code == 404
    assert (await api.get(f"/api/v1/actions/{ref}.fine")).status_code == 404
    assert (await api.get(f"/api/v1/triggers/{ref}.hook")).status_code == 404


async def test_a_rule_naming_an_unknown_action_refuses_the_pack(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        triggers={"hook": {"type": "webhook"}},
        rules={"lost": {"trigger": f"{ref}.hook", "action": {"ref": "nowhere.to_be_found"}}},
    )

    response = await api.post("/api/v1/packs/register", json={"path": str(folder)})

    assert response.status_code == 422
    assert "rules/lost.yaml" in response.json()["error"]["message"]
    assert (await api.get(f"/api/v1/triggers/{ref}.hook")).status_code == 404


async def test_a_relative_pack_path_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/packs/register", json={"path": "packs/core"})

    assert response.status_code == 422
    assert response.json()["error"]["details"]["field"] == "path"
