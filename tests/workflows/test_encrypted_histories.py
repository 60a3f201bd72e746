"""Nothing readable in Temporal: every payload of a run is encrypted, and the codec endpoint
decodes it for those Attune lets in.

The histories are exported as an operator would (`temporal workflow show -o json`), for the
workflow and its children, after a run with a secret parameter, a child given the secret,
and an inquiry answered, and after a rule's run given a decrypted key: neither the secret,
nor the key, nor the answer, nor even a plain parameter may appear in them.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from attune.embedded_temporal import temporal_binary
from attune.payload_codec import ENCODING
from attune.web_ui_codec import web_ui_secret
from tests.conftest import TEST_KEY_BYTES, TemporalServer
from tests.db.factories import unique
from tests.inquiries import wait_for_inquiry
from tests.key_packs import a_secret, fire, key_pack, sha256
from tests.keys import put_key, system
from tests.pack_folders import register_pack
from tests.workflows.pack_workflows import (
    children_of,
    finished,
    register_flow_pack,
    run_workflow,
    workflow_action,
)
from workflows import search_attributes

pytestmark = pytest.mark.usefixtures("worker")

TOKEN = "tok-7f3e9a-secret"
SERVICE = "svc-4b1d2c-plain"
REASON = "reason-9e8d7c-answer"
MARKERS = (TOKEN, SERVICE, REASON)

FLOW = """
from attune.sdk import ask, run_action

class Flow:
    async def run(self, service: str, token: str) -> dict:
        used = await run_action("PACK.use", {"token": token, "service": service})
        answer = await ask(
            "Deploy " + service + "?",
            schema={"type": "object", "required": ["ok"],
                    "properties": {"ok": {"type": "boolean"}, "reason": {"type": "string"}}},
        )
        return {"answer": answer, "used": used["result"], "service": service}
"""
# Reads the token from stdin without printing it, so only a leak could put it in a history.
USE = {
    "runner_type": "local-shell-cmd",
    "parameters": {
        "cmd": {"type": "string", "default": "grep -c 'tok-7f3e9a-s.cret'"},
        "token": {"type": "string", "secret": True},
        "service": {"type": "string"},
    },
}


def exported_history(temporal: TemporalServer, workflow_id: str) -> str:
    """`temporal workflow show -o json`, as an operator with the CLI (and no codec) sees it."""
    shown = subprocess.run(
        [
            temporal_binary(),
            "workflow",
            "show",
            "--address",
            temporal.address,
            "--workflow-id",
            workflow_id,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return shown.stdout


def payloads_in(node: Any, search_attributes: set[str]) -> list[dict[str, Any]]:
    """Every payload of an exported history (the objects holding `metadata` and `data`) but
    search attributes, which Temporal cannot encode: their names go to `search_attributes`."""
    if isinstance(node, dict):
        if isinstance(node.get("metadata"), dict) and "encoding" in node["metadata"]:
            return [node]
        if "searchAttributes" in node:
            search_attributes.update(node["searchAttributes"]["indexedFields"])
        return [
            found
            for name, item in node.items()
            if name != "searchAttributes"
            for found in payloads_in(item, search_attributes)
        ]
    if isinstance(node, list):
        return [found for item in node for found in payloads_in(item, search_attributes)]
    return []


async def test_no_history_of_a_run_holds_a_secret_an_answer_or_a_parameter_in_clear(
    api: httpx.AsyncClient,
    anonymous_api: httpx.AsyncClient,
    temporal: TemporalServer,
    tmp_path: Path,
) -> None:
    ref = await register_flow_pack(
        api,
        tmp_path,
        FLOW,
        {
            "flow": workflow_action(
                "workflows/flow.py:Flow",
                {"service": {"type": "string"}, "token": {"type": "string", "secret": True}},
            ),
            "use": USE,
        },
    )
    parent_id = await run_workflow(api, f"{ref}.flow", {"service": SERVICE, "token": TOKEN})
    inquiry = await wait_for_inquiry(api, parent_id)
    answered = await api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond",
        json={"response": {"ok": True, "reason": REASON}},
    )
    assert answered.status_code == 200, answered.text
    parent = await finished(api, parent_id)
    assert parent["status"] == "completed", parent
    assert parent["result"]["used"] == 1  # the child found the token on its stdin
    assert parent["result"]["answer"] == {"ok": True, "reason": REASON}
    [child] = await children_of(api, parent_id)

    exports = {
        execution_id: exported_history(temporal, f"execution-{execution_id}")
        for execution_id in (parent_id, child["id"])
    }
    payloads: list[dict[str, Any]] = []
    indexed: set[str] = set()
    for execution_id, export in exports.items():
        for marker in MARKERS:
            assert marker not in export, f"{marker} in the history of execution {execution_id}"
        found = payloads_in(json.loads(export), indexed)
        assert found, f"no payloads found in the export of execution {execution_id}"
        payloads += found
    encodings = {base64.b64decode(payload["metadata"]["encoding"]) for payload in payloads}
    assert encodings == {ENCODING}
    # What stays in clear: the search attributes, documented as carrying no secret.
    assert indexed <= {key.name for key in search_attributes.ALL}

    body = {"payloads": payloads}
    decoded = await api.post("/api/v1/codec/decode", json=body)
    assert decoded.status_code == 200, decoded.text
    plain = b"".join(base64.b64decode(item["data"]) for item in decoded.json()["payloads"])
    assert SERVICE.encode() in plain
    assert REASON.encode() in plain
    # The secret went to the child by reference: not even the decoded history holds it.
    assert TOKEN.encode() not in plain
    assert {
        base64.b64decode(item["metadata"]["encoding"]) for item in decoded.json()["payloads"]
    } <= {b"json/plain", b"binary/null"}

    stranger = await anonymous_api.post("/api/v1/codec/decode", json=body)
    assert stranger.status_code == 401, stranger.text
    web_ui = f"/api/v1/codec/web-ui/{web_ui_secret(TEST_KEY_BYTES)}/decode"
    assert (await anonymous_api.post(web_ui, json=body)).json() == decoded.json()
    wrong = await anonymous_api.post("/api/v1/codec/web-ui/guessed/decode", json=body)
    assert wrong.status_code == 401, wrong.text


async def test_a_decrypted_key_is_in_no_history_of_the_run_it_went_into(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    settings: Settings,
    temporal: TemporalServer,
    tmp_path: Path,
) -> None:
    secret, name = a_secret(), unique("dbpw")
    await put_key(engine, settings, system(name), secret, encrypted=True)
    ref, folder = key_pack(tmp_path, {"rotate": {"token": f"{{{{ keystore.system.{name} }}}}"}})
    await register_pack(api, folder)

    ran = await fire(api, ref)

    execution = ran["rotate"]["execution"]
    assert execution["status"] == "completed", execution
    assert execution["result"]["result"]["token_sha256"] == sha256(secret)  # it got the value
    export = exported_history(temporal, f"execution-{execution['id']}")
    assert secret not in export
    assert payloads_in(json.loads(export), set())
