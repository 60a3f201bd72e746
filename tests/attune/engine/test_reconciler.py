"""The reconciler starts the workflow of an execution the API committed but never started."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowExecutionStatus

from attune.config import Settings
from attune.engine.execution_requests import find_runnable_action, request_execution
from attune.engine.reconciler import reconcile_orphans
from attune.engine.workflow_starts import PendingStart, WorkflowStarter
from db.engine import create_session_factory
from db.repositories import execution as executions
from tests.conftest import TemporalServer
from tests.executions import wait_for_status
from tests.inquiries import wait_for_inquiry


async def orphan(engine: AsyncEngine, message: str) -> int:
    """An execution row committed as `requested`, as if the API died before starting it."""
    async with create_session_factory(engine).begin() as session:
        action = await find_runnable_action(session, "core.echo")
        pending = await request_execution(session, action=action, parameters={"message": message})
        return pending.execution.id


@pytest.mark.usefixtures("worker")
async def test_an_orphaned_requested_execution_is_started_once(
    api: httpx.AsyncClient, engine: AsyncEngine, temporal: TemporalServer, settings: Settings
) -> None:
    execution_id = await orphan(engine, "found")
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    sessions = create_session_factory(engine)

    started = await reconcile_orphans(sessions, starter, grace=timedelta(0))

    assert started >= 1
    async with sessions() as session:
        marked = await executions.repository.get(session, id=execution_id)
    assert marked.status in {"scheduled", "running", "completed"}
    execution = await wait_for_status(api, execution_id)
    assert execution["status"] == "completed"
    assert execution["result"]["result"] == "found"
    # Nothing is started twice: the row is no longer requested, and the workflow id is taken.
    async with sessions() as session:
        later = datetime.fromisoformat(execution["ended_at"]) + timedelta(seconds=1)
        pending = await executions.list_orphans(session, created_before=later)
    assert execution_id not in [row.id for row in pending]


async def test_a_young_execution_is_left_to_the_api(
    engine: AsyncEngine, temporal: TemporalServer, settings: Settings
) -> None:
    execution_id = await orphan(engine, "young")
    starter = WorkflowStarter.from_settings(temporal.client, settings)

    await reconcile_orphans(create_session_factory(engine), starter, grace=timedelta(hours=1))

    with pytest.raises(Exception, match="not found"):
        await starter.handle(execution_id).describe()


async def test_a_workflow_that_closed_before_running_ends_its_row(
    engine: AsyncEngine, temporal: TemporalServer, settings: Settings
) -> None:
    # The API started the workflow and died before marking the row `scheduled`; then the
    # workflow was terminated (no worker polls this queue, so its run never began).
    execution_id = await orphan(engine, "terminated")
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        row = await executions.repository.get(session, id=execution_id)
    assert await starter.start(PendingStart(row, None))
    await starter.handle(execution_id).terminate(reason="test")

    await reconcile_orphans(sessions, starter, grace=timedelta(0))

    async with sessions() as session:
        execution = await executions.repository.get(session, id=execution_id)
    assert execution.status == "abandoned"
    assert "terminated" in (execution.error or "")
    description = await starter.handle(execution_id).describe()
    assert description.status == WorkflowExecutionStatus.TERMINATED


@pytest.mark.usefixtures("worker")
async def test_a_cancel_that_never_reached_temporal_is_honoured_before_the_run(
    api: httpx.AsyncClient, engine: AsyncEngine, temporal: TemporalServer, settings: Settings
) -> None:
    # The API marked the row canceling and died before cancelling the workflow.
    execution_id = await orphan(engine, "never")
    async with create_session_factory(engine).begin() as session:
        await executions.mark_canceling(session, id=execution_id)
    async with create_session_factory(engine)() as session:
        row = await executions.repository.get(session, id=execution_id)
    starter = WorkflowStarter.from_settings(temporal.client, settings)

    assert await starter.start(PendingStart(row, None))

    execution = await wait_for_status(api, execution_id)
    assert execution["status"] == "cancelled"
    assert execution["error"] == "cancelled by request before it ran"
    assert execution["result"] is None


@pytest.mark.usefixtures("worker")
async def test_an_orphaned_ask_is_started_as_an_inquiry(
    api: httpx.AsyncClient, engine: AsyncEngine, temporal: TemporalServer, settings: Settings
) -> None:
    # The runner type travels with the start: without it the run activity would be asked
    # to run an `inquirer`, which no runner does.
    async with create_session_factory(engine).begin() as session:
        action = await find_runnable_action(session, "core.ask")
        row = (
            await request_execution(session, action=action, parameters={"prompt": "Found?"})
        ).execution
    starter = WorkflowStarter.from_settings(temporal.client, settings)

    await reconcile_orphans(create_session_factory(engine), starter, grace=timedelta(0))

    inquiry = await wait_for_inquiry(api, row.id)
    assert inquiry["prompt"] == "Found?"
    execution = await wait_for_status(api, row.id, {"running"})
    assert execution["waiting_inquiry"]["id"] == inquiry["id"]
    assert (await api.post(f"/api/v1/executions/{row.id}/cancel")).status_code == 202
