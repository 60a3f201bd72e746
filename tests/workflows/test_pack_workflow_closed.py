"""A pack workflow that closes outside its code (terminated, or failed on a non-deterministic
replay) still gets its row ended, saying why: never left `running`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from attune.config import Settings
from attune.engine.closed_workflows import end_closed_pack_workflows
from attune.engine.workflow_starts import WorkflowStarter
from db.engine import create_session_factory
from tests.conftest import TemporalServer, make_worker
from tests.executions import wait_for_status
from tests.inquiries import wait_for_inquiry
from tests.workflows.pack_workflows import (
    children_of,
    finished,
    pack_with,
    register_flow_pack,
    run_workflow,
    workflow_action,
)

SLEEPER = """
from attune.sdk import sleep

class Flow:
    async def run(self):
        await sleep(60)
"""
# Does something else when its history is replayed than it did when the history was made.
# The sleep outlasts the first worker's shutdown, so that worker never runs the rest itself.
FICKLE = """
from temporalio import workflow
from attune.sdk import run_action, sleep

class Flow:
    async def run(self):
        if workflow.unsafe.is_replaying():
            await run_action("PACK.step", {})
        await sleep(6)
        return "done"
"""


async def wait_for_timer(handle: WorkflowHandle[Any, Any], within: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{handle.id} started no timer within {within} s")


async def test_a_terminated_pack_workflow_ends_its_row_abandoned(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Flow", SLEEPER)
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    async with make_worker(temporal, engine, settings):
        execution_id = await run_workflow(api, f"{ref}.flow")
        await wait_for_status(api, execution_id, {"running"})
        await starter.handle(execution_id).terminate(reason="stuck, says the operator")

        ended = await end_closed_pack_workflows(create_session_factory(engine), starter)
        execution = await finished(api, execution_id, within=5)

    assert ended >= 1
    assert execution["status"] == "abandoned"
    assert "terminated (stuck, says the operator)" in execution["error"]


async def test_a_non_deterministic_replay_fails_the_execution_instead_of_retrying(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Flow", FICKLE)
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    async with make_worker(temporal, engine, settings):
        execution_id = await run_workflow(api, f"{ref}.flow")
        # The code ran (its sleep began) on this worker, not only the step marking it running.
        await wait_for_timer(starter.handle(execution_id))
    # Another worker has no cached copy: when the timer fires it replays the history.
    async with make_worker(temporal, engine, settings):
        handle = starter.handle(execution_id)
        outcome = None
        for _ in range(200):
            description = await handle.describe()
            if description.status is not None and description.status.name != "RUNNING":
                outcome = description.status.name
                break
            await asyncio.sleep(0.2)
        await end_closed_pack_workflows(create_session_factory(engine), starter)
        execution = await finished(api, execution_id, within=5)

    assert outcome == "FAILED"
    assert execution["status"] == "failed"
    assert "ondeterminism" in execution["error"]


# Fails its workflow task on every attempt, after opening an inquiry: as code that never
# yields does (the SDK's deadlock detector), only without burning a core for the test.
STUCK = """
import asyncio
from attune.sdk import ask, sleep
from workflows.pack_code import PackCodeUnavailable

class Flow:
    async def run(self):
        asyncio.ensure_future(ask("Still there?", ttl=600))
        await sleep(1)
        raise PackCodeUnavailable("stuck on purpose")
"""


async def test_a_workflow_whose_task_keeps_failing_is_terminated_and_its_row_ended(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Flow", STUCK)
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    sessions = create_session_factory(engine)
    async with make_worker(temporal, engine, settings):
        execution_id = await run_workflow(api, f"{ref}.flow")
        inquiry = await wait_for_inquiry(api, execution_id)
        handle = starter.handle(execution_id)
        attempts = 0
        for _ in range(150):
            description = await handle.describe()
            attempts = description.raw_description.pending_workflow_task.attempt
            if attempts >= 2:
                break
            await asyncio.sleep(0.2)
        assert attempts >= 2
        assert await end_closed_pack_workflows(sessions, starter, stuck_attempts=50) == 0
        ended = await end_closed_pack_workflows(sessions, starter, stuck_attempts=2)
        execution = await finished(api, execution_id, within=5)

    assert ended == 1
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    assert execution["status"] == "abandoned"
    assert "its workflow task failed" in execution["error"]
    assert "times in a row" in execution["error"]
    shown = (await api.get(f"/api/v1/inquiries/{inquiry['id']}")).json()
    assert shown["status"] == "cancelled"


PARENT = """
from attune.sdk import ActionFailed, run_action

class Parent:
    async def run(self):
        try:
            await run_action("PACK.flow", {})
        except ActionFailed as failure:
            return [failure.execution_id, failure.status, failure.error]
"""


async def test_a_child_terminated_under_its_parent_is_seen_abandoned(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref = await register_flow_pack(
        api,
        tmp_path,
        SLEEPER + PARENT,
        {
            "flow": workflow_action("workflows/flow.py:Flow"),
            "parent": workflow_action("workflows/flow.py:Parent"),
        },
    )
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    async with make_worker(temporal, engine, settings):
        parent_id = await run_workflow(api, f"{ref}.parent")
        child_id = None
        for _ in range(100):
            children = await children_of(api, parent_id)
            if children and children[0]["status"] == "running":
                child_id = children[0]["id"]
                break
            await asyncio.sleep(0.1)
        assert child_id is not None
        await starter.handle(child_id).terminate(reason="operator")
        parent = await finished(api, parent_id, within=20)

    assert parent["status"] == "completed", parent
    assert parent["result"][:2] == [child_id, "abandoned"]
    assert "closed without ending it" in parent["result"][2]
    child = (await api.get(f"/api/v1/executions/{child_id}")).json()
    assert child["status"] == "abandoned"
