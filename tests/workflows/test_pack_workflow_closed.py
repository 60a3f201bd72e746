"""A pack workflow that closes outside its code (terminated, or failed on a non-deterministic
replay) still gets its row ended, saying why: never left `running`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from attune.config import Settings
from attune.engine.closed_workflows import end_closed_pack_workflows
from attune.engine.workflow_starts import WorkflowStarter
from db.engine import create_session_factory
from tests.conftest import TemporalServer, make_worker
from tests.executions import wait_for_status
from tests.workflows.pack_workflows import finished, run_workflow
from tests.workflows.test_pack_workflows import pack_with

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
