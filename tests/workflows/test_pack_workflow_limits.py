"""What pack workflows may not do: act for another execution, nest without end, wait for
themselves; and the limits they keep: a workflow action's own FIFO policy."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest

from tests.workflows.pack_workflows import (
    children_of,
    finished,
    pack_with,
    run_workflow,
)

pytestmark = pytest.mark.usefixtures("worker")

SLEEPER = """
from attune.sdk import sleep

class Flow:
    async def run(self, seconds: float = 30):
        await sleep(seconds)
        return "slept"
"""
# Calls the activities pack workflows use, naming another execution: to end it, read its
# parameters, or run children and ask questions in its name.
FORGER = """
from datetime import timedelta
from temporalio import workflow

class Flow:
    async def run(self, victim: int):
        calls = [
            ("attune.finish_pack_workflow",
             {"execution_id": victim, "status": "completed", "result": "forged"}),
            ("attune.begin_pack_workflow", {"execution_id": victim}),
            ("attune.request_child_execution",
             {"parent_id": victim, "step": 99, "action_ref": "PACK.step", "parameters": {}}),
            ("attune.open_workflow_inquiry",
             {"execution_id": victim, "step": 99, "prompt": "Forged?"}),
        ]
        said = []
        for name, argument in calls:
            try:
                await workflow.execute_activity(
                    name, argument, start_to_close_timeout=timedelta(seconds=10)
                )
                said.append("allowed")
            except Exception as error:
                said.append(str(error.cause))
        return said
"""


async def test_a_workflow_cannot_call_the_activities_for_another_execution(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    victim_ref = await pack_with(api, tmp_path / "victim", "workflows/flow.py:Flow", SLEEPER)
    victim_id = await run_workflow(api, f"{victim_ref}.flow")
    forger_ref = await pack_with(
        api,
        tmp_path / "forger",
        "workflows/flow.py:Flow",
        FORGER.replace("PACK", victim_ref),
        parameters={"victim": {"type": "integer", "required": True}},
    )

    forger = await finished(
        api, await run_workflow(api, f"{forger_ref}.flow", {"victim": victim_id})
    )

    assert forger["status"] == "completed", forger
    assert (
        forger["result"]
        == [f"attune.Refused: only the pack workflow of execution {victim_id} may ask this"] * 4
    )
    victim = (await api.get(f"/api/v1/executions/{victim_id}")).json()
    assert victim["status"] == "running"
    assert await children_of(api, victim_id) == []
    inquiries = await api.get("/api/v1/inquiries", params={"execution": victim_id})
    assert inquiries.json()["items"] == []
    await api.post(f"/api/v1/executions/{victim_id}/cancel")
    assert (await finished(api, victim_id))["status"] == "cancelled"


RECURSIVE = """
from attune.sdk import ActionFailed, run_action

class Flow:
    async def run(self, depth: int = 1):
        try:
            return await run_action("PACK.flow", {"depth": depth + 1})
        except ActionFailed as refused:
            return {"deepest": depth, "why": refused.error, "child": refused.execution_id}
"""


async def recursive_pack(api: httpx.AsyncClient, root: Path) -> str:
    depth = {"depth": {"type": "integer", "default": 1}}
    return await pack_with(api, root, "workflows/flow.py:Flow", RECURSIVE, parameters=depth)


async def test_a_workflow_that_runs_itself_stops_at_the_nesting_limit(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = await recursive_pack(api, tmp_path)

    top = await finished(api, await run_workflow(api, f"{ref}.flow"), within=120)

    assert top["status"] == "completed", top
    assert top["result"]["deepest"] == 16
    assert "workflows nest at most 16 deep" in top["result"]["why"]
    assert top["result"]["child"] is None  # refused before any row was written


async def test_a_limited_workflow_that_runs_itself_is_refused_instead_of_waiting_forever(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = await recursive_pack(api, tmp_path)
    policy = {"name": "alone", "action": f"{ref}.flow", "concurrency": {"limit": 1}}
    assert (await api.post("/api/v1/policies", json=policy)).status_code == 201

    top = await finished(api, await run_workflow(api, f"{ref}.flow"), within=30)

    assert top["status"] == "completed", top
    assert top["result"]["deepest"] == 1
    assert "would wait for them forever" in top["result"]["why"]


async def test_a_workflow_actions_own_fifo_limit_runs_its_executions_one_at_a_time(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = await pack_with(
        api,
        tmp_path,
        "workflows/flow.py:Flow",
        SLEEPER,
        parameters={"seconds": {"type": "number", "default": 0.5}},
    )
    policy = {"name": "alone", "action": f"{ref}.flow", "concurrency": {"limit": 1}}
    assert (await api.post("/api/v1/policies", json=policy)).status_code == 201

    ids = [await run_workflow(api, f"{ref}.flow") for _ in range(3)]
    runs = [await finished(api, execution_id) for execution_id in ids]

    assert [run["status"] for run in runs] == ["completed"] * 3, runs
    assert [run["queue_position"] for run in runs] == sorted(run["queue_position"] for run in runs)
    assert [run["admitted_at"] for run in runs] == sorted(run["admitted_at"] for run in runs)
    for earlier, later in itertools.pairwise(runs):
        assert earlier["ended_at"] <= later["started_at"]  # never two at once
