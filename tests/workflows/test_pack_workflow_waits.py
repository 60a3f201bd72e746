"""Pack workflows that wait: on people, on timers, on children; cancelled meanwhile, or
re-registered meanwhile; and the secrets they hand on."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import TemporalServer
from tests.executions import wait_for_status
from tests.inquiries import wait_for_inquiry
from tests.workflows.histories import assert_replays
from tests.workflows.pack_workflows import (
    children_of,
    finished,
    pack_with,
    register,
    register_flow_pack,
    run_workflow,
    workflow_action,
    write_workflow_pack,
)

pytestmark = pytest.mark.usefixtures("worker")

APPROVE = """
from attune.sdk import InquiryTimedOut, ask

class Approve:
    async def run(self, service: str, ttl: int) -> dict:
        try:
            answer = await ask(
                "Deploy " + service + "?",
                schema={"type": "object", "required": ["ok"],
                        "properties": {"ok": {"type": "boolean"}}},
                ttl=ttl,
            )
        except InquiryTimedOut as expired:
            return {"expired": expired.inquiry_id}
        return {"answer": answer}
"""
APPROVE_PARAMETERS = {
    "service": {"type": "string", "required": True},
    "ttl": {"type": "integer", "default": 600},
}


async def test_an_inquiry_inside_a_workflow_is_answered_through_the_api(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path
) -> None:
    ref = await pack_with(
        api, tmp_path, "workflows/flow.py:Approve", APPROVE, parameters=APPROVE_PARAMETERS
    )
    execution_id = await run_workflow(api, f"{ref}.flow", {"service": "checkout"})
    inquiry = await wait_for_inquiry(api, execution_id)
    assert inquiry["prompt"] == "Deploy checkout?"
    waiting = (await api.get(f"/api/v1/executions/{execution_id}")).json()
    assert waiting["status"] == "running"
    assert waiting["waiting_inquiry"]["id"] == inquiry["id"]

    refused = await api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"ok": "yes"}}
    )
    answered = await api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"ok": True}}
    )
    again = await api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"ok": False}}
    )

    assert refused.status_code == 422
    assert answered.status_code == 200, answered.text
    assert again.status_code == 409
    execution = await finished(api, execution_id)
    assert execution["status"] == "completed", execution
    assert execution["result"] == {"answer": {"ok": True}}
    await assert_replays(
        temporal.client.get_workflow_handle(f"execution-{execution_id}"), path="inquiry_answered"
    )


async def test_an_inquiry_nobody_answers_raises_inquiry_timed_out(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path
) -> None:
    ref = await pack_with(
        api, tmp_path, "workflows/flow.py:Approve", APPROVE, parameters=APPROVE_PARAMETERS
    )
    execution_id = await run_workflow(api, f"{ref}.flow", {"service": "x", "ttl": 1})

    execution = await finished(api, execution_id)

    inquiry = await wait_for_inquiry(api, execution_id)
    assert execution["status"] == "completed", execution
    assert execution["result"] == {"expired": inquiry["id"]}
    assert inquiry["status"] == "timeout"
    await assert_replays(
        temporal.client.get_workflow_handle(f"execution-{execution_id}"), path="inquiry_timed_out"
    )


CANCELLABLE = """
import asyncio
from attune.sdk import ask, run_action

class Flow:
    async def run(self, pidfile: str) -> None:
        await asyncio.gather(
            run_action("PACK.linger", {"pidfile": pidfile}),
            ask("Still there?", ttl=600),
        )
"""
LINGER = {
    "runner_type": "local-shell-cmd",
    "parameters": {
        "pidfile": {"type": "string", "required": True},
        "cmd": {
            "type": "string",
            "default": 'sleep 300 & echo "$$ $!" > "$ATTUNE_PARAM_PIDFILE"; wait',
        },
    },
}


async def test_cancelling_the_parent_cancels_children_their_processes_and_inquiries(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path
) -> None:
    ref = await register_flow_pack(
        api,
        tmp_path,
        CANCELLABLE,
        {
            "flow": workflow_action(
                "workflows/flow.py:Flow", {"pidfile": {"type": "string", "required": True}}
            ),
            "linger": LINGER,
        },
    )
    pidfile = tmp_path / "linger.pids"
    parent_id = await run_workflow(api, f"{ref}.flow", {"pidfile": str(pidfile)})
    inquiry = await wait_for_inquiry(api, parent_id)
    for _ in range(200):
        if pidfile.exists() and len(pidfile.read_text().split()) == 2:
            break
        await asyncio.sleep(0.05)
    pids = [int(pid) for pid in pidfile.read_text().split()]

    cancelled = await api.post(f"/api/v1/executions/{parent_id}/cancel")

    assert cancelled.status_code == 202, cancelled.text
    parent = await finished(api, parent_id)
    assert parent["status"] == "cancelled", parent
    [child] = await children_of(api, parent_id)
    assert child["status"] == "cancelled"
    assert not [pid for pid in pids if _alive(pid)]
    closed = (await api.get(f"/api/v1/inquiries/{inquiry['id']}")).json()
    assert closed["status"] == "cancelled"
    await assert_replays(
        temporal.client.get_workflow_handle(f"execution-{parent_id}"),
        path="cancelled_with_children_and_inquiry",
    )


def _alive(pid: int) -> bool:
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    return False


VERSIONED = """
from attune.sdk import sleep

class Flow:
    async def run(self, wait: float) -> str:
        await sleep(wait)
        return "VERSION"
"""


async def test_a_pack_registered_again_leaves_runs_in_flight_on_their_code(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    parameters = {"wait": {"type": "number", "default": 0}}
    ref, folder = write_workflow_pack(
        tmp_path,
        code={"workflows/flow.py": VERSIONED.replace("VERSION", "one")},
        actions={"flow": workflow_action("workflows/flow.py:Flow", parameters)},
    )
    await register(api, folder)
    first = (await api.get(f"/api/v1/actions/{ref}.flow")).json()
    old_run = await run_workflow(api, f"{ref}.flow", {"wait": 3})
    await wait_for_status(api, old_run, {"running"})

    (folder / "actions" / "workflows" / "flow.py").write_text(VERSIONED.replace("VERSION", "two"))
    await register(api, folder)
    new_run = await run_workflow(api, f"{ref}.flow")

    assert (await finished(api, new_run))["result"] == "two"
    assert (await finished(api, old_run))["result"] == "one"
    second = (await api.get(f"/api/v1/actions/{ref}.flow")).json()
    assert second["updated"] > first["updated"]


SECRETIVE = """
from attune.sdk import ActionFailed, run_action

class Flow:
    async def run(self, token: str) -> dict:
        used = await run_action("PACK.use", {"token": token})
        try:
            await run_action("PACK.step", {"label": token})
        except ActionFailed as refused:
            leaked = refused.error
        return {"seen": token, "used": used["result"], "refused": leaked}
"""
TOKEN = "s3cret-t0ken"
COUNTS_TOKEN = "grep -c 's3cret-t.ken'"
# Counts the token's lines on stdin without printing it (nor naming it: `cmd` is no secret),
# so that nothing but a leak could bring the token into a history.
USE = {
    "runner_type": "local-shell-cmd",
    "parameters": {
        "cmd": {"type": "string", "default": COUNTS_TOKEN},
        "token": {"type": "string", "secret": True},
    },
}


async def test_a_workflow_hands_on_its_secrets_by_reference_never_by_value(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path
) -> None:
    ref = await register_flow_pack(
        api,
        tmp_path,
        SECRETIVE,
        {
            "flow": workflow_action(
                "workflows/flow.py:Flow", {"token": {"type": "string", "secret": True}}
            ),
            "use": USE,
        },
    )

    parent_id = await run_workflow(api, f"{ref}.flow", {"token": TOKEN})
    parent = await finished(api, parent_id)

    assert parent["status"] == "completed", parent
    result = parent["result"]
    assert result["seen"] == f"attune-secret://{parent_id}/token"
    assert result["used"] == 1  # the child found the token on its stdin
    assert "may only go into a parameter marked secret" in result["refused"]
    [use] = await children_of(api, parent_id)
    assert use["parameters"] == {"token": "********", "cmd": COUNTS_TOKEN}
    for execution_id in (parent_id, use["id"]):
        history = await temporal.client.get_workflow_handle(
            f"execution-{execution_id}"
        ).fetch_history()
        # Payloads are bytes in the protobuf (base64 in its JSON): look at the bytes.
        assert TOKEN.encode() not in b"".join(event.SerializeToString() for event in history.events)
