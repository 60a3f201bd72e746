"""Execution tokens against the real API: an action reads its own run and its pack's keys.

The first test serves the API over HTTP (uvicorn) where the worker's actions reach it
(`ATTUNE_API_URL`), so the action calls it with the token in its environment. The others
mint the token as the worker does and call the app in-process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from api.main import create_app, guard_rules
from attune.auth.execution_tokens import mint_execution_token
from attune.config import Settings
from db.engine import create_session_factory
from db.models import Execution, ExecutionStatus
from db.repositories import execution as executions
from tests.conftest import TEST_ENCRYPTION_KEY, TemporalServer, api_client, free_port, make_worker
from tests.db.factories import make_action, make_execution, make_pack, unique
from tests.executions import wait_for_status
from tests.keys import of_pack, put_key, system
from tests.pack_folders import register_pack, write_pack

PROBE = """import hashlib, json, os, urllib.error, urllib.request


def call(path):
    request = urllib.request.Request(
        os.environ["ATTUNE_API_URL"] + path,
        headers={"Authorization": "Bearer " + os.environ["ATTUNE_API_TOKEN"]},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def digest(value):
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()


def run(key, other):
    pack = os.environ["ATTUNE_ACTION"].partition(".")[0]
    own_status, own = call("/api/v1/executions/" + os.environ["ATTUNE_EXECUTION_ID"])
    key_status, read = call(f"/api/v1/keys/pack/{key}?pack={pack}&decrypt=true")
    other_status, refused = call(f"/api/v1/executions/{other}")
    return {
        "own": [own_status, own.get("id")],
        "key": [key_status, digest(read.get("value"))],
        "other": [other_status, refused["error"]["message"]],
        "actions": call("/api/v1/actions")[0],
        "token_sha256": hashlib.sha256(os.environ["ATTUNE_API_TOKEN"].encode()).hexdigest(),
    }
"""


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def served_settings(settings: Settings) -> AsyncIterator[Settings]:
    """The settings of an API served by uvicorn on a free port, with actions pointed at it."""
    port = free_port()
    served = settings.model_copy(update={"api_url": f"http://127.0.0.1:{port}"})
    server = uvicorn.Server(
        uvicorn.Config(create_app(served), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the API server did not start"
        await asyncio.sleep(0.05)
    yield served
    server.should_exit = True
    await serving


async def running_execution(engine: AsyncEngine) -> Execution:
    """An execution of an action of a pack of its own, `running` (no worker runs it)."""
    async with create_session_factory(engine).begin() as session:
        action = await make_action(session, await make_pack(session))
        return await make_execution(session, action, status=ExecutionStatus.RUNNING)


async def end(engine: AsyncEngine, execution: Execution) -> None:
    async with create_session_factory(engine).begin() as session:
        await executions.repository.update(
            session, id=execution.id, changes={"status": ExecutionStatus.COMPLETED}
        )


async def test_an_action_calls_the_api_with_its_token_and_reads_its_packs_key(
    api: httpx.AsyncClient,
    served_settings: Settings,
    temporal: TemporalServer,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    ref, secret = unique("tok"), f"s3cret-{uuid.uuid4().hex}"
    parameters = {"key": {"type": "string"}, "other": {"type": "integer"}}
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "probe": {
                "runner_type": "python-script",
                "entry_point": "probe.py",
                "parameters": parameters,
            }
        },
        scripts={"probe.py": PROBE},
    )
    await register_pack(api, folder)
    await put_key(engine, served_settings, of_pack(ref, "db_password"), secret, encrypted=True)
    other = await running_execution(engine)

    async with make_worker(temporal, engine, served_settings):
        response = await api.post(
            "/api/v1/executions",
            json={
                "action": f"{ref}.probe",
                "parameters": {"key": "db_password", "other": other.id},
            },
        )
        assert response.status_code == 201, response.text
        execution = await wait_for_status(api, response.json()["id"])

    assert execution["status"] == "completed", execution
    seen = execution["result"]["result"]
    assert seen["own"] == [200, execution["id"]]
    assert seen["key"] == [200, digest(secret)]
    assert seen["other"][0] == 403
    assert "an execution token may only GET" in seen["other"][1]
    assert seen["actions"] == 403
    # The token in the action's environment is the one minted for its execution...
    key = served_settings.encryption_key_bytes
    assert key is not None
    token = mint_execution_token(key, execution["id"])
    assert seen["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    # ...and it is dead now that the execution has ended.
    after = await api.get(f"/api/v1/executions/{execution['id']}", headers=bearer(token))
    assert after.status_code == 401
    assert "has ended (completed)" in after.json()["error"]["message"]


async def test_a_token_reads_its_own_execution_and_keys_until_the_execution_ends(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    execution = await running_execution(engine)
    pack = execution.action_ref.partition(".")[0]
    pack_key, system_key = unique("pk"), unique("sk")
    await put_key(engine, settings, of_pack(pack, pack_key), "pack-secret", encrypted=True)
    await put_key(engine, settings, system(system_key), "sys-secret", encrypted=True)
    assert settings.encryption_key_bytes is not None
    headers = bearer(mint_execution_token(settings.encryption_key_bytes, execution.id))

    own = await api.get(f"/api/v1/executions/{execution.id}", headers=headers)
    packs = await api.get(
        f"/api/v1/keys/pack/{pack_key}", params={"pack": pack, "decrypt": "true"}, headers=headers
    )
    systems = await api.get(f"/api/v1/keys/system/{system_key}", headers=headers)
    await end(engine, execution)
    ended = await api.get(f"/api/v1/executions/{execution.id}", headers=headers)

    assert own.status_code == 200, own.text
    assert own.json()["id"] == execution.id
    assert packs.status_code == 200, packs.text
    assert packs.json()["value"] == "pack-secret"
    assert systems.status_code == 200, systems.text
    assert systems.json()["value"] == "********"
    assert ended.status_code == 401
    assert f"execution {execution.id} has ended" in ended.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/api/v1/executions/{other}", {}),
        ("GET", "/api/v1/executions", {}),
        ("POST", "/api/v1/executions/{own}/cancel", {}),
        ("GET", "/api/v1/keys/pack/k", {"pack": "{other_pack}", "decrypt": "true"}),
        ("GET", "/api/v1/keys/system/k", {"decrypt": "true"}),
        ("GET", "/api/v1/keys/user/k", {}),
        ("GET", "/api/v1/keys", {"scope": "pack", "pack": "{pack}"}),
        ("PUT", "/api/v1/keys/pack/k", {"pack": "{pack}"}),
        ("DELETE", "/api/v1/keys/pack/k", {"pack": "{pack}"}),
        ("GET", "/api/v1/actions", {}),
    ],
)
async def test_a_token_is_refused_everything_else(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    settings: Settings,
    method: str,
    path: str,
    params: dict[str, str],
) -> None:
    own, other = await running_execution(engine), await running_execution(engine)
    names = {
        "own": own.id,
        "other": other.id,
        "pack": own.action_ref.partition(".")[0],
        "other_pack": other.action_ref.partition(".")[0],
    }
    assert settings.encryption_key_bytes is not None
    token = mint_execution_token(settings.encryption_key_bytes, own.id)

    response = await api.request(
        method,
        path.format(**names),
        params={name: value.format(**names) for name, value in params.items()},
        headers=bearer(token),
        json={"value": 1} if method == "PUT" else None,
    )

    assert response.status_code == 403, response.text
    message = response.json()["error"]["message"]
    assert message.startswith("an execution token may only GET /api/v1/executions/")


async def test_every_route_in_the_openapi_document_refuses_a_token_out_of_its_grant(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    execution = await running_execution(engine)
    assert settings.encryption_key_bytes is not None
    headers = bearer(mint_execution_token(settings.encryption_key_bytes, execution.id))
    document = create_app(settings).openapi()
    public = guard_rules(settings).public_paths
    # Its two routes too, asked for another execution and for the one scope it never reads.
    named = {"id": str(execution.id + 1), "scope": "user"}
    answers = {}
    for template, operations in document["paths"].items():
        if template in public:
            continue
        path = re.sub(r"\{(\w+)\}", lambda part: named.get(part[1], "1"), template)
        for method in operations:
            response = await api.request(method.upper(), path, headers=headers)
            answers[(method, template)] = response.status_code
    assert ("get", "/api/v1/executions/{id}") in answers
    # Artifact routes let it in, to its own execution's artifacts: artifact 1 is none of
    # its own (404), and a body-less create or update is no artifact (422).
    own_artifacts = {
        ("post", "/api/v1/artifacts"): 422,
        ("get", "/api/v1/artifacts/{id}"): 404,
        ("patch", "/api/v1/artifacts/{id}"): 422,
        ("get", "/api/v1/artifacts/{id}/content"): 404,
    }
    assert {route: code for route, code in answers.items() if code != 403} == own_artifacts


async def test_a_forged_altered_or_strangers_token_is_unauthenticated(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    execution = await running_execution(engine)
    assert settings.encryption_key_bytes is not None
    good = mint_execution_token(settings.encryption_key_bytes, execution.id)
    tokens = [
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        good.replace(f"attx_{execution.id}_", f"attx_{execution.id + 1}_"),
        mint_execution_token(b"\x07" * 32, execution.id),
        f"attx_{execution.id}_",
    ]

    for token in tokens:
        response = await api.get(f"/api/v1/executions/{execution.id}", headers=bearer(token))
        assert response.status_code == 401, token
        assert response.json()["error"]["message"] == "invalid or expired token"


async def test_a_token_minted_before_a_key_rotation_still_works(
    engine: AsyncEngine, settings: Settings
) -> None:
    execution = await running_execution(engine)
    assert settings.encryption_key_bytes is not None
    token = mint_execution_token(settings.encryption_key_bytes, execution.id)
    rotated = settings.model_copy(
        update={
            "encryption_key": SecretStr("Y" * 43 + "="),
            "previous_encryption_keys": (SecretStr(TEST_ENCRYPTION_KEY),),
        }
    )

    async with api_client(rotated, token=token) as client:
        response = await client.get(f"/api/v1/executions/{execution.id}")

    assert response.status_code == 200, response.text
