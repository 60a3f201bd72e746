"""The main path, end to end on real servers: webhook -> rule -> shell action -> result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowExecutionStatus

from attune.auth.webhook_signature import SIGNATURE_HEADER
from db.engine import create_session_factory
from db.repositories import action as actions
from db.repositories import trigger as triggers
from tests.conftest import TemporalServer
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.pack_folders import register_pack, write_pack
from tests.webhooks import signed_headers
from workflows import search_attributes

pytestmark = pytest.mark.usefixtures("worker")

# Reads the parameters from stdin and from the environment, and answers in JSON.
GREET = """#!/bin/sh
input=$(cat)
printf '{"greeting": "hello %s", "times": %s, "stdin": %s}\\n' \
  "$ATTUNE_PARAM_NAME" "$ATTUNE_PARAM_TIMES" "$input"
"""


def greeting_pack(tmp_path: Path, **rule: Any) -> tuple[str, Path]:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "greet": {
                "runner_type": "local-shell-script",
                "entry_point": "greet.sh",
                "parameters": {
                    "name": {"type": "string", "required": True},
                    "times": {"type": "integer", "default": 1},
                },
            }
        },
        triggers={"hook": {"type": "webhook", "payload_schema": {"type": "object"}}},
        rules={
            "on_failure": {
                "trigger": f"{ref}.hook",
                "criteria": {"trigger.status": {"type": "equals", "pattern": "failed"}},
                "action": {
                    "ref": f"{ref}.greet",
                    "parameters": {"name": "{{ trigger.host }}", "times": "{{ trigger.count }}"},
                }
                | rule,
            }
        },
        scripts={"greet.sh": GREET},
    )
    return ref, folder


async def test_webhook_runs_the_matching_rules_action_to_a_result(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path
) -> None:
    ref, folder = greeting_pack(tmp_path)
    await register_pack(api, folder)

    response = await api.post(
        f"/api/v1/webhooks/{ref}.hook", json={"status": "failed", "host": "web-1", "count": 3}
    )

    assert response.status_code == 202, response.text
    caused = response.json()
    assert len(caused["enforcement_ids"]) == 1
    [execution_id] = caused["execution_ids"]
    execution = await wait_for_status(api, execution_id)
    assert execution["status"] == "completed", execution
    assert execution["result"]["exit_code"] == 0
    # `times` rendered from a lone expression keeps its type: the integer 3 on stdin.
    assert execution["result"]["result"] == {
        "greeting": "hello web-1",
        "times": 3,
        "stdin": {"name": "web-1", "times": 3},
    }
    assert execution["parameters"] == {"name": "web-1", "times": 3}
    assert execution["rule_ref"] == f"{ref}.on_failure"
    assert execution["trigger_ref"] == f"{ref}.hook"
    for stamp in ("scheduled_at", "started_at", "ended_at"):
        assert execution[stamp] is not None
    assert execution["created"] <= execution["started_at"] <= execution["ended_at"]
    assert execution["workflow_id"] == f"execution-{execution_id}"
    assert execution["web_ui_url"].endswith(
        f"/namespaces/default/workflows/execution-{execution_id}"
    )

    enforcement = (await api.get(f"/api/v1/enforcements/{caused['enforcement_ids'][0]}")).json()
    assert enforcement["event_id"] == caused["event_id"]
    assert enforcement["parameters"] == {"name": "web-1", "times": 3}
    assert enforcement["error"] is None

    description = await temporal.client.get_workflow_handle(execution["workflow_id"]).describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    found = description.typed_search_attributes
    assert found.get(search_attributes.EXECUTION_ID) == execution_id
    assert found.get(search_attributes.ACTION) == f"{ref}.greet"
    assert found.get(search_attributes.PACK) == ref
    assert found.get(search_attributes.RULE) == f"{ref}.on_failure"
    assert found.get(search_attributes.TRIGGER) == f"{ref}.hook"
    assert found.get(search_attributes.STATUS) == "completed"


async def test_a_payload_the_criteria_reject_causes_no_enforcement(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref, folder = greeting_pack(tmp_path)
    await register_pack(api, folder)

    response = await api.post(f"/api/v1/webhooks/{ref}.hook", json={"status": "ok", "host": "x"})

    assert response.status_code == 202
    assert response.json()["enforcement_ids"] == []
    assert response.json()["execution_ids"] == []
    listed = await api.get("/api/v1/enforcements", params={"event": response.json()["event_id"]})
    assert listed.json()["items"] == []


async def test_a_template_that_cannot_render_is_recorded_not_run(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref, folder = greeting_pack(tmp_path, parameters={"name": "{{ trigger.nothing_here }}"})
    await register_pack(api, folder)

    response = await api.post(f"/api/v1/webhooks/{ref}.hook", json={"status": "failed"})

    assert response.status_code == 202
    [enforcement_id] = response.json()["enforcement_ids"]
    enforcement = (await api.get(f"/api/v1/enforcements/{enforcement_id}")).json()
    assert "nothing_here" in enforcement["error"]
    assert "parameter name" in enforcement["error"]
    execution = (await api.get(f"/api/v1/executions/{response.json()['execution_ids'][0]}")).json()
    assert execution["status"] == "failed"
    assert execution["error"] == enforcement["error"]
    assert execution["ended_at"] is not None


async def test_rendered_parameters_that_break_the_schema_are_recorded_not_run(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref, folder = greeting_pack(tmp_path, parameters={"name": "x", "times": "{{ trigger.host }}"})
    await register_pack(api, folder)

    response = await api.post(
        f"/api/v1/webhooks/{ref}.hook", json={"status": "failed", "host": "not-a-number"}
    )

    assert response.status_code == 202
    [execution_id] = response.json()["execution_ids"]
    execution = (await api.get(f"/api/v1/executions/{execution_id}")).json()
    assert execution["status"] == "failed"
    assert "times" in execution["error"]
    [enforcement_id] = response.json()["enforcement_ids"]
    enforcement = (await api.get(f"/api/v1/enforcements/{enforcement_id}")).json()
    assert enforcement["error"] == execution["error"]


async def test_a_signed_webhook_needs_no_token_and_a_bad_signature_is_refused(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref, folder = greeting_pack(tmp_path)
    await register_pack(api, folder)
    secret = (await api.post(f"/api/v1/triggers/{ref}.hook/webhook-secret")).json()["secret"]
    body = b'{"status": "failed", "host": "signed", "count": 1}'
    anonymous = anonymous_api
    url = f"/api/v1/webhooks/{ref}.hook"

    signed = await anonymous.post(url, content=body, headers=signed_headers(secret, body))
    forged = await anonymous.post(url, content=body, headers=signed_headers("x", body))
    bare = await anonymous.post(url, content=body)

    assert signed.status_code == 202, signed.text
    execution = await wait_for_status(api, signed.json()["execution_ids"][0])
    assert execution["result"]["result"]["greeting"] == "hello signed"
    assert forged.status_code == 401
    assert "invalid webhook signature" in forged.json()["error"]["message"]
    assert bare.status_code == 401
    assert SIGNATURE_HEADER in bare.json()["error"]["message"]
    assert (await api.get(f"/api/v1/triggers/{ref}.hook")).json()["has_webhook_secret"] is True


async def test_events_name_what_is_wrong_with_them(api: httpx.AsyncClient, tmp_path: Path) -> None:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        triggers={
            "alert": {
                "type": "custom",
                "payload_schema": {
                    "type": "object",
                    "properties": {"level": {"type": "integer"}},
                    "required": ["level"],
                },
            }
        },
    )
    await register_pack(api, folder)

    unknown = await api.post("/api/v1/events", json={"trigger": f"{ref}.nope", "payload": {}})
    wrong_type = await api.post(
        "/api/v1/events", json={"trigger": f"{ref}.alert", "payload": {"level": "high"}}
    )
    missing = await api.post("/api/v1/events", json={"trigger": f"{ref}.alert", "payload": {}})
    fine = await api.post(
        "/api/v1/events", json={"trigger": f"{ref}.alert", "payload": {"level": 2}}
    )
    not_a_webhook = await api.post(f"/api/v1/webhooks/{ref}.alert", json={"level": 2})

    assert unknown.status_code == 404
    assert f"{ref}.nope" in unknown.json()["error"]["message"]
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"]["details"]["field"] == "payload.level"
    assert missing.status_code == 422
    assert "level" in missing.json()["error"]["message"]
    assert fine.status_code == 202
    assert (await api.get(f"/api/v1/events/{fine.json()['event_id']}")).json()["payload"] == {
        "level": 2
    }
    assert not_a_webhook.status_code == 409


async def test_a_disabled_trigger_refuses_events(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ref = unique("pk")
    await register_pack(api, write_pack(tmp_path, ref, triggers={"quiet": {"type": "webhook"}}))
    async with create_session_factory(engine).begin() as session:
        trigger = await triggers.repository.get_by_key(session, f"{ref}.quiet")
        await triggers.repository.update(session, id=trigger.id, changes={"enabled": False})

    response = await api.post(f"/api/v1/webhooks/{ref}.quiet", json={})

    assert response.status_code == 409
    assert f"{ref}.quiet" in response.json()["error"]["message"]


async def test_a_template_that_raises_is_recorded_and_other_rules_still_run(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref, folder = greeting_pack(tmp_path, parameters={"name": "x", "times": "{{ 1 / 0 }}"})
    (folder / "rules" / "also.yaml").write_text(
        yaml.safe_dump({"trigger": f"{ref}.hook", "action": {"ref": "core.noop"}})
    )
    await register_pack(api, folder)

    response = await api.post(f"/api/v1/webhooks/{ref}.hook", json={"status": "failed"})

    assert response.status_code == 202, response.text
    executions = [
        (await api.get(f"/api/v1/executions/{id}")).json()
        for id in response.json()["execution_ids"]
    ]
    by_action = {execution["action_ref"]: execution for execution in executions}
    assert by_action[f"{ref}.greet"]["status"] == "failed"
    assert "ZeroDivisionError" in by_action[f"{ref}.greet"]["error"]
    assert (await wait_for_status(api, by_action["core.noop"]["id"]))["status"] == "completed"


async def test_secret_parameters_are_masked_in_enforcements_and_executions(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        config={"token": "PACK-SECRET"},
        actions={
            "use": {
                "runner_type": "noop",
                "parameters": {
                    "token": {"type": "string", "secret": True},
                    "who": {"type": "string"},
                },
            }
        },
        triggers={"hook": {"type": "webhook"}},
        rules={
            "r": {
                "trigger": f"{ref}.hook",
                "action": {
                    "ref": f"{ref}.use",
                    "parameters": {"token": "{{ pack.config.token }}", "who": "me"},
                },
            }
        },
    )
    await register_pack(api, folder)

    caused = (await api.post(f"/api/v1/webhooks/{ref}.hook", json={})).json()

    enforcement = (await api.get(f"/api/v1/enforcements/{caused['enforcement_ids'][0]}")).json()
    execution = await wait_for_status(api, caused["execution_ids"][0])
    assert enforcement["parameters"] == {"token": "********", "who": "me"}
    assert execution["parameters"] == {"token": "********", "who": "me"}
    # Once the action is gone nothing says which were secret, so none is shown.
    async with create_session_factory(engine).begin() as session:
        gone = await actions.repository.get_by_key(session, f"{ref}.use")
        await actions.repository.delete(session, id=gone.id)
    after = (await api.get(f"/api/v1/executions/{execution['id']}")).json()
    assert after["parameters"] == {"token": "********", "who": "********"}


@pytest.mark.parametrize(
    ("body", "says"),
    [(b"{not json", "not JSON"), (b"[1, 2]", "JSON object, not list")],
)
async def test_a_webhook_body_that_is_not_a_json_object_is_a_422(
    api: httpx.AsyncClient, body: bytes, says: str
) -> None:
    response = await api.post("/api/v1/webhooks/core.webhook", content=body)

    assert response.status_code == 422
    assert says in response.json()["error"]["message"]
    assert response.json()["error"]["details"]["field"] == "body"
