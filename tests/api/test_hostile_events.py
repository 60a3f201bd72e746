"""Hostile events through real rules, a real worker and real shells: nothing breaks out.

The findings of the hardening issue that need the whole path: shell injection through the
README's own rule, webhook replays, secrets at rest, templates that make work out of a
small payload, and action output no read could serve back.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from attune.engine.reconciler import reconcile_orphans
from attune.engine.workflow_starts import WorkflowStarter
from db.engine import create_session_factory
from tests.conftest import TemporalServer, api_client
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.pack_folders import register_pack, write_pack
from tests.webhooks import signed_headers

pytestmark = pytest.mark.usefixtures("worker")

DEPLOY_SCHEMA = {
    "type": "object",
    "properties": {"service": {"type": "string"}, "status": {"type": "string"}},
    "required": ["service", "status"],
}


def readme_pack(root: Path) -> tuple[str, Path]:
    """The pack of the README's "Your first automation", word for word."""
    ref = unique("mypack")
    folder = write_pack(
        root,
        ref,
        triggers={"deploy": {"type": "webhook", "payload_schema": DEPLOY_SCHEMA}},
        actions={
            "rollback": {
                "runner_type": "local-shell-cmd",
                "parameters": {"cmd": {"type": "string", "required": True}},
                "timeout": 30,
            }
        },
        rules={
            "on_failed_deploy": {
                "trigger": f"{ref}.deploy",
                "criteria": {"trigger.status": {"type": "equals", "pattern": "failed"}},
                "action": {
                    "ref": f"{ref}.rollback",
                    "parameters": {"cmd": "echo rolling back {{ trigger.service }}"},
                },
            }
        },
    )
    return ref, folder


async def webhook_secret(api: httpx.AsyncClient, trigger: str) -> str:
    response = await api.post(f"/api/v1/triggers/{trigger}/webhook-secret")
    assert response.status_code == 201, response.text
    secret: str = response.json()["secret"]
    return secret


# --- 1. shell injection through the README's rule --------------------------------------


@pytest.mark.parametrize(
    "service",
    [
        "checkout; rm -rf {target}",
        "$(rm -rf {target})",
        "`rm -rf {target}`",
        "checkout\nrm -rf {target}",
        "checkout' ; rm -rf {target} ; echo '",
        "checkout | rm -rf {target}",
        "checkout && rm -rf {target}",
    ],
)
async def test_a_signed_webhook_cannot_inject_into_the_readme_rule(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient, tmp_path: Path, service: str
) -> None:
    target = tmp_path / "precious"
    target.write_text("still here")
    ref, folder = readme_pack(tmp_path / "packs")
    await register_pack(api, folder)
    secret = await webhook_secret(api, f"{ref}.deploy")
    hostile = service.format(target=target)
    body = httpx.Request("POST", "/", json={"service": hostile, "status": "failed"}).content

    response = await anonymous_api.post(
        f"/api/v1/webhooks/{ref}.deploy", content=body, headers=signed_headers(secret, body)
    )

    assert response.status_code == 202, response.text
    execution = await wait_for_status(api, response.json()["execution_ids"][0])
    assert execution["status"] == "completed", execution
    assert execution["result"]["stdout"] == f"rolling back {hostile}\n"
    assert target.read_text() == "still here"


# --- 6. replayed webhooks ---------------------------------------------------------------


async def test_a_signed_delivery_is_accepted_once_in_any_api_process(
    api: httpx.AsyncClient,
    anonymous_api: httpx.AsyncClient,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref, folder = readme_pack(tmp_path)
    await register_pack(api, folder)
    secret = await webhook_secret(api, f"{ref}.deploy")
    body = b'{"service": "checkout", "status": "ok"}'
    headers = signed_headers(secret, body)
    url = f"/api/v1/webhooks/{ref}.deploy"

    first = await anonymous_api.post(url, content=body, headers=headers)
    again = await anonymous_api.post(url, content=body, headers=headers)
    # Another API process (its own app, its own services) shares only the database.
    async with api_client(settings) as other_process:
        elsewhere = await other_process.post(url, content=body, headers=headers)

    assert first.status_code == 202, first.text
    assert again.status_code == elsewhere.status_code == 409
    assert "received already" in again.json()["error"]["message"]
    events = (await api.get("/api/v1/events", params={"trigger": f"{ref}.deploy"})).json()
    assert len(events["items"]) == 1


async def test_a_stale_or_future_timestamp_is_refused_and_a_fresh_one_accepted(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    ref, folder = readme_pack(tmp_path)
    await register_pack(api, folder)
    secret = await webhook_secret(api, f"{ref}.deploy")
    body = b'{"service": "checkout", "status": "ok"}'
    url = f"/api/v1/webhooks/{ref}.deploy"
    now = int(time.time())
    tolerance = settings.webhook_tolerance_seconds

    stale = await anonymous_api.post(
        url, content=body, headers=signed_headers(secret, body, timestamp=now - tolerance - 5)
    )
    future = await anonymous_api.post(
        url, content=body, headers=signed_headers(secret, body, timestamp=now + tolerance + 5)
    )
    unsigned_timestamp = await anonymous_api.post(
        url,
        content=body,
        headers=signed_headers(secret, body) | {"X-Attune-Timestamp": str(now - 1)},
    )
    body_only = await anonymous_api.post(
        url,
        content=body,
        headers={"X-Attune-Signature": signed_headers(secret, body)["X-Attune-Signature"]},
    )
    fresh = await anonymous_api.post(url, content=body, headers=signed_headers(secret, body))

    for refused in (stale, future, unsigned_timestamp, body_only):
        assert refused.status_code == 401, refused.text
    assert "outside the" in stale.json()["error"]["message"]
    assert "X-Attune-Timestamp" in body_only.json()["error"]["message"]
    assert fresh.status_code == 202, fresh.text


# --- 7. secret parameters at rest -------------------------------------------------------


async def test_a_secret_parameter_is_encrypted_in_the_row_and_reaches_the_action(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "login": {
                "runner_type": "local-shell-cmd",
                "parameters": {
                    "cmd": {"type": "string", "default": "cat"},
                    "password": {"type": "string", "secret": True, "required": True},
                },
            }
        },
    )
    await register_pack(api, folder)
    password = f"hunter2-{unique()}"

    created = await api.post(
        "/api/v1/executions", json={"action": f"{ref}.login", "parameters": {"password": password}}
    )
    assert created.status_code == 201, created.text
    execution = await wait_for_status(api, created.json()["id"])

    assert execution["status"] == "completed", execution
    assert execution["result"]["result"]["password"] == password  # on the action's stdin
    assert execution["parameters"]["password"] == "********"
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT parameters::text, secret_parameters, result::text "
                    "FROM attune.execution WHERE id = :id"
                ),
                {"id": execution["id"]},
            )
        ).one()
        # Nowhere else either: no event payload, no enforcement, no inquiry holds it.
        elsewhere = await connection.execute(
            text(
                "SELECT (SELECT count(*) FROM attune.event WHERE payload::text LIKE :p)"
                " + (SELECT count(*) FROM attune.enforcement WHERE parameters::text LIKE :p)"
                " + (SELECT count(*) FROM attune.execution"
                "    WHERE id <> :id AND parameters::text LIKE :p)"
            ),
            {"p": f"%{password}%", "id": execution["id"]},
        )
    parameters, sealed, _ = row
    assert password not in parameters
    assert "********" in parameters
    assert sealed is not None
    assert password not in sealed
    assert elsewhere.scalar_one() == 0


async def test_a_sealed_secret_copied_to_another_row_does_not_decrypt(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ref = unique("pk")
    spec = {
        "runner_type": "local-shell-cmd",
        "parameters": {
            "cmd": {"type": "string", "default": "cat"},
            "token": {"type": "string", "secret": True},
        },
    }
    await register_pack(api, write_pack(tmp_path, ref, actions={"use": spec}))
    action = f"{ref}.use"
    first = await api.post(
        "/api/v1/executions", json={"action": action, "parameters": {"token": "s3cret"}}
    )
    await wait_for_status(api, first.json()["id"])
    # A second run whose row is given the first one's ciphertext before it runs.
    policy = {"name": "hold", "action": action, "concurrency": {"limit": 1}}
    assert (await api.post("/api/v1/policies", json=policy)).status_code == 201
    blocker = await api.post(
        "/api/v1/executions",
        json={"action": action, "parameters": {"cmd": "sleep 2", "token": "x"}},
    )
    second = await api.post(
        "/api/v1/executions", json={"action": action, "parameters": {"token": "other"}}
    )
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE attune.execution SET secret_parameters = "
                "(SELECT secret_parameters FROM attune.execution WHERE id = :first) "
                "WHERE id = :second"
            ),
            {"first": first.json()["id"], "second": second.json()["id"]},
        )

    await wait_for_status(api, blocker.json()["id"])
    moved = await wait_for_status(api, second.json()["id"])

    assert moved["status"] == "failed"
    assert "cannot decrypt secret" in moved["error"]
    assert "s3cret" not in str(moved)


# --- 8. unbounded work from a small payload --------------------------------------------


async def test_a_template_cannot_turn_a_tiny_payload_into_a_huge_parameter(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        triggers={"hook": {"type": "webhook"}},
        rules={
            "grow": {
                "trigger": f"{ref}.hook",
                "action": {"ref": "core.echo", "parameters": {"message": "{{ 'a' * trigger.n }}"}},
            }
        },
    )
    await register_pack(api, folder)

    started = time.monotonic()
    response = await api.post(f"/api/v1/webhooks/{ref}.hook", json={"n": 100_000_000})

    assert response.status_code == 202, response.text
    assert time.monotonic() - started < 5
    [execution_id] = response.json()["execution_ids"]
    execution = (await api.get(f"/api/v1/executions/{execution_id}")).json()
    assert execution["status"] == "failed"
    assert "more than the 1048576 allowed" in execution["error"]
    async with engine.connect() as connection:
        size = (
            await connection.execute(
                text("SELECT pg_column_size(parameters) FROM attune.execution WHERE id = :id"),
                {"id": execution_id},
            )
        ).scalar_one()
    assert size < 1000


@pytest.mark.parametrize(
    ("runner", "spec"),
    [
        ("local-shell-cmd", {}),
        ("python-script", {"entry_point": "deep.py"}),
    ],
)
async def test_output_too_deep_to_serve_back_is_left_out_and_the_execution_reads(
    api: httpx.AsyncClient, tmp_path: Path, runner: str, spec: dict[str, Any]
) -> None:
    ref = unique("pk")
    deep = "import json\n\ndef run():\n    value = 1\n    for _ in range(500):\n"
    deep += "        value = [value]\n    return value\n"
    action = {"runner_type": runner, **spec}
    if runner == "local-shell-cmd":
        action["parameters"] = {
            "cmd": {"type": "string", "default": "python3 -c \"print('[' * 500 + ']' * 500)\""}
        }
    folder = write_pack(tmp_path, ref, actions={"deep": action}, scripts={"deep.py": deep})
    await register_pack(api, folder)

    created = await api.post("/api/v1/executions", json={"action": f"{ref}.deep"})
    execution = await wait_for_status(api, created.json()["id"])

    assert execution["status"] == "completed", execution
    assert execution["result"]["result"] is None
    assert execution["result"]["result_truncated"] is True
    listed = await api.get("/api/v1/executions", params={"action": f"{ref}.deep"})
    assert listed.status_code == 200


async def test_a_python_result_larger_than_the_cap_is_left_out_with_a_flag(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("pk")
    big = "def run():\n    return 'x' * (5 * 1024 * 1024)\n"
    folder = write_pack(
        tmp_path,
        ref,
        actions={"big": {"runner_type": "python-script", "entry_point": "big.py"}},
        scripts={"big.py": big},
    )
    await register_pack(api, folder)

    created = await api.post("/api/v1/executions", json={"action": f"{ref}.big"})
    execution = await wait_for_status(api, created.json()["id"])

    assert execution["status"] == "completed", execution
    assert execution["result"]["result"] is None
    assert execution["result"]["result_truncated"] is True


async def test_a_rule_needing_a_key_the_api_lacks_fails_alone_and_others_run(
    settings: Settings,
    admin_token: str,
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    tmp_path: Path,
) -> None:
    ref = unique("pk")
    secret_action = {
        "runner_type": "noop",
        "parameters": {"token": {"type": "string", "secret": True}},
    }
    folder = write_pack(
        tmp_path,
        ref,
        triggers={"hook": {"type": "webhook"}},
        actions={"use": secret_action},
        rules={
            "sealed": {
                "trigger": f"{ref}.hook",
                "action": {"ref": f"{ref}.use", "parameters": {"token": "{{ trigger.t }}"}},
            },
            "plain": {"trigger": f"{ref}.hook", "action": {"ref": "core.noop"}},
        },
    )
    await register_pack(api, folder)
    keyless = settings.model_copy(update={"encryption_key": None})

    async with api_client(keyless, token=admin_token) as without_key:
        response = await without_key.post(f"/api/v1/webhooks/{ref}.hook", json={"t": "x"})

    assert response.status_code == 202, response.text
    executions = [
        (await api.get(f"/api/v1/executions/{id}")).json()
        for id in response.json()["execution_ids"]
    ]
    by_action = {execution["action_ref"]: execution for execution in executions}
    assert by_action[f"{ref}.use"]["status"] == "failed"
    assert "ATTUNE_ENCRYPTION_KEY" in by_action[f"{ref}.use"]["error"]
    # Nor can it send the plain rule's run to Temporal, whose payloads are encrypted: the
    # run is kept, never lost, and a worker's reconciler (which has the key) starts it.
    assert by_action["core.noop"]["status"] == "requested"
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    await reconcile_orphans(create_session_factory(engine), starter, grace=timedelta(0))
    plain = await wait_for_status(api, by_action["core.noop"]["id"])
    assert plain["status"] == "completed"
