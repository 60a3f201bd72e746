"""What the Temporal Web UI shows of an execution: a bounded, readable summary as the
workflow's result and current details, with secret parameters masked."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata

from activities.execution_summary import OUTPUT_CHARS
from tests.conftest import TemporalServer
from tests.executions import wait_for_status
from tests.pack_folders import register_pack, write_pack

pytestmark = pytest.mark.usefixtures("worker")

PASSWORD = "pw-5c2e8f-secret"
# 200 000 characters on stdout, a line on stderr, exit code 3.
LOUD = {
    "runner_type": "local-shell-cmd",
    "parameters": {
        "cmd": {
            "type": "string",
            "default": "head -c 200000 /dev/zero | tr '\\0' x; echo oops >&2; exit 3",
        },
        "password": {"type": "string", "secret": True},
        "target": {"type": "string"},
    },
}


async def test_the_workflow_result_is_a_bounded_summary_with_secrets_masked(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path
) -> None:
    folder = write_pack(tmp_path, "loud", actions={"shout": LOUD})
    await register_pack(api, folder)
    created = await api.post(
        "/api/v1/executions",
        json={"action": "loud.shout", "parameters": {"password": PASSWORD, "target": "db-1"}},
    )
    assert created.status_code == 201, created.text
    execution_id = created.json()["id"]
    execution = await wait_for_status(api, execution_id)
    assert execution["status"] == "failed", execution
    assert len(execution["result"]["stdout"]) == 200_000

    handle = temporal.client.get_workflow_handle(f"execution-{execution_id}")
    outcome = await handle.result()
    summary = outcome["summary"]
    assert summary["action"] == "loud.shout"
    assert summary["url"].endswith(f"/api/v1/executions/{execution_id}")
    assert summary["parameters"]["password"] == "********"
    assert summary["parameters"]["target"] == "db-1"
    assert summary["exit_code"] == 3
    assert summary["stdout"].startswith("x" * OUTPUT_CHARS)
    assert "more characters" in summary["stdout"]
    assert summary["stderr"] == "oops\n"
    assert len(json.dumps(outcome)) < 16_384
    assert PASSWORD not in json.dumps(outcome)

    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    details = metadata.current_details
    assert details.startswith("**failed**: `loud.shout`")
    assert "exit code 3" in details
    assert "oops" in details
