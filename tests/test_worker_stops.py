"""A worker that is stopped (SIGTERM) or lost: what ran finishes, what had not started
runs elsewhere, and nothing starts on a worker that is going away (issue 16, findings 5
and 6)."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.execution import ExecutionActivities
from activities.execution_types import ExecutionOutcome, RunExecutionInput
from activities.run_messages import STARTED_THEN_LOST, STOPPING_TYPE
from attune.config import Settings
from attune.engine.execution_requests import find_runnable_action, request_execution
from attune.worker import execution_activities, runner_settings_from
from db.engine import create_session_factory
from db.models import ExecutionStatus
from db.repositories import execution as executions
from tests.conftest import TemporalServer, make_worker
from tests.db.factories import unique
from tests.executions import request_run, wait_for_status
from tests.pack_folders import register_pack, write_pack
from tests.worker_processes import worker_process
from tests.workers import running
from workflows.execution import ExecutionWorkflow

WORK = """#!/bin/sh
sleep "$ATTUNE_PARAM_SECONDS"
echo done
"""


async def work_action(api: httpx.AsyncClient, tmp_path: Path) -> str:
    ref = unique("stops")
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "work": {
                "runner_type": "local-shell-script",
                "entry_point": "work.sh",
                "parameters": {"seconds": {"type": "number", "required": True}},
            }
        },
        scripts={"work.sh": WORK},
    )
    await register_pack(api, folder)
    return f"{ref}.work"


async def test_sigterm_lets_running_actions_finish_and_starts_nothing_new(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    action = await work_action(api, tmp_path)
    async with worker_process(
        settings, temporal, tmp_path / "worker", ATTUNE_WORKER_SHUTDOWN_GRACE="20"
    ) as worker:
        running_ids = [await request_run(api, action, {"seconds": 3}) for _ in range(4)]
        for execution_id in running_ids:
            await wait_for_status(api, execution_id, {"running"})
        worker.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)  # the worker has begun to stop
        later = await request_run(api, action, {"seconds": 0})
        exit_code = await asyncio.wait_for(worker.wait(), timeout=20)

    assert exit_code == 0
    for execution_id in running_ids:
        execution = await wait_for_status(api, execution_id, within=5)
        assert execution["status"] == "completed", execution
        assert execution["result"]["stdout"] == "done\n"
    # The stopping worker never took the later run: it waits, unstarted, for a worker...
    unstarted = (await api.get(f"/api/v1/executions/{later}")).json()
    assert unstarted["status"] in {"requested", "scheduling", "scheduled"}, unstarted
    assert unstarted["started_at"] is None
    # ...and the next one runs it.
    async with make_worker(temporal, engine, settings):
        assert (await wait_for_status(api, later, within=30))["status"] == "completed"


async def test_an_action_that_outlasts_the_grace_is_abandoned_saying_so(
    api: httpx.AsyncClient, temporal: TemporalServer, settings: Settings, tmp_path: Path
) -> None:
    action = await work_action(api, tmp_path)
    async with worker_process(
        settings, temporal, tmp_path / "worker", ATTUNE_WORKER_SHUTDOWN_GRACE="1"
    ) as worker:
        execution_id = await request_run(api, action, {"seconds": 60})
        await wait_for_status(api, execution_id, {"running"})
        worker.send_signal(signal.SIGTERM)
        exit_code = await asyncio.wait_for(worker.wait(), timeout=15)

    assert exit_code == 0
    execution = await wait_for_status(api, execution_id, within=5)
    assert execution["status"] == "abandoned"
    assert "was stopped" in execution["error"]
    assert "within its 1s grace" in execution["error"]


def attempt(number: int, *, stopping: bool = False) -> ActivityEnvironment:
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, attempt=number)
    if stopping:
        environment.worker_shutdown()
    return environment


async def unstarted_echo(engine: AsyncEngine) -> int:
    """An execution row as the API writes it, whose workflow nobody started."""
    async with create_session_factory(engine).begin() as session:
        echo = await find_runnable_action(session, "core.echo")
        written = await request_execution(session, action=echo, parameters={"message": "hi"})
    return written.execution.id


async def status_of(engine: AsyncEngine, execution_id: int) -> tuple[ExecutionStatus, bool]:
    async with create_session_factory(engine)() as session:
        row = await executions.repository.get(session, id=execution_id)
    return row.status, row.started_at is not None


async def test_a_stopping_worker_refuses_a_run_without_starting_it(
    engine: AsyncEngine, settings: Settings
) -> None:
    execution_id = await unstarted_echo(engine)
    activities = execution_activities(engine, runner_settings_from(settings))

    with pytest.raises(ApplicationError) as refused:
        await attempt(1, stopping=True).run(
            activities.run_execution, RunExecutionInput(execution_id)
        )

    assert refused.value.type == STOPPING_TYPE
    assert not refused.value.non_retryable
    assert await status_of(engine, execution_id) == (ExecutionStatus.REQUESTED, False)


async def test_a_retried_run_runs_an_unstarted_action_and_ends_a_started_one(
    engine: AsyncEngine, settings: Settings
) -> None:
    activities = execution_activities(engine, runner_settings_from(settings))
    unstarted = await unstarted_echo(engine)
    retried = await attempt(2).run(activities.run_execution, RunExecutionInput(unstarted))
    assert retried.status == "completed"

    # A first attempt claimed this one, started its action, and was lost.
    started = await unstarted_echo(engine)
    async with create_session_factory(engine).begin() as session:
        await executions.claim_for_run(
            session, id=started, workflow_id=f"execution-{started}", scheduled_at=datetime.now(UTC)
        )
    lost = await attempt(2).run(activities.run_execution, RunExecutionInput(started))
    assert (lost.status, lost.error) == ("abandoned", STARTED_THEN_LOST)


class SilentBeforeItsClaim:
    """The run activity, except that a first attempt's worker goes silent before claiming
    the execution (as one SIGKILLed between receiving the run and starting its action)."""

    def __init__(self, real: ExecutionActivities) -> None:
        self._real = real

    @activity.defn(name="attune.run_execution")
    async def run_execution(self, input: RunExecutionInput) -> ExecutionOutcome:
        if activity.info().attempt == 1:
            await asyncio.sleep(3600)  # never heartbeats: Temporal declares the worker lost
        return await self._real.run_execution(input)


async def test_a_run_lost_before_its_action_started_runs_on_another_attempt(
    api: httpx.AsyncClient, temporal: TemporalServer, engine: AsyncEngine, settings: Settings
) -> None:
    real = execution_activities(engine, runner_settings_from(settings))
    worker = Worker(
        temporal.client,
        task_queue=settings.task_queue,
        workflows=[ExecutionWorkflow],
        activities=[SilentBeforeItsClaim(real).run_execution, real.finish_execution],
    )
    async with running(worker):
        execution_id = await request_run(api, "core.echo", {"message": "x"})
        # Heartbeat timeout (3 s here), a retry a second later, then the real run.
        execution = await wait_for_status(api, execution_id, within=30)

    assert execution["status"] == "completed", execution
