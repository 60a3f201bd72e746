"""Admission across worker processes, against Temporal-side failures, and rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from attune.engine.admission_sweeper import sweep_admissions
from attune.engine.execution_requests import find_runnable_action, request_execution
from attune.engine.reconciler import reconcile_orphans, run_reconciler
from attune.engine.workflow_starts import PendingStart, WorkflowStarter
from attune.worker import build_rate_limited_queues, runner_settings_from
from db.engine import create_session_factory
from db.models import Execution, ExecutionStatus, Policy
from db.repositories import admission
from db.repositories import execution as executions
from tests.admission import (
    SHELL_ACTION,
    Run,
    grant_inversions,
    limited_action,
    most_at_once,
    queue_stats,
    request_runs,
    runs_of,
    wait_until_all_ended,
)
from tests.conftest import TEST_ENCRYPTION_KEY, TemporalServer, make_worker
from tests.executions import wait_for_status


@contextlib.asynccontextmanager
async def worker_processes(
    count: int, settings: Settings, temporal: TemporalServer, data_dir: Path
) -> AsyncIterator[list[int]]:
    """`count` real `attune worker` processes on this test's task queue; their pids."""
    environment = {
        **os.environ,
        "ATTUNE_DATABASE_URL": str(settings.database_url),
        # Every Temporal payload is encrypted: the worker needs the key the tests use.
        "ATTUNE_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "TEMPORAL_ADDRESS": temporal.address,
        "ATTUNE_TASK_QUEUE": settings.task_queue,
        "ATTUNE_DATA_DIR": str(data_dir),
    }
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "attune", "worker", env=environment
        )
        for _ in range(count)
    ]
    try:
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await process.wait()


async def test_two_worker_processes_share_the_load_and_the_limit_holds_globally(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    action = await limited_action(api, tmp_path, limit=5)

    async with worker_processes(2, settings, temporal, tmp_path / "workers") as pids:
        await request_runs(api, action, 1000)
        runs = await wait_until_all_ended(engine, action, 1000, within=420)

    assert {run.status for run in runs} == {"completed"}
    assert await worker_pids_that_ran(temporal, runs) == set(pids), "both processes ran some"
    assert grant_inversions(runs) == 0
    assert most_at_once([(run.admitted_at, run.released_at) for run in runs]) <= 5
    assert most_at_once([(run.started_at, run.ended_at) for run in runs]) <= 5
    stats = await queue_stats(api, action)
    assert (stats["queue_length"], stats["active_count"]) == (0, 0)
    assert (stats["total_enqueued"], stats["total_completed"]) == (1000, 1000)


async def worker_pids_that_ran(temporal: TemporalServer, runs: list[Run]) -> set[int]:
    """The pids of the workers whose run activity started, read from the histories: a
    worker's Temporal identity is `pid@host`."""
    fetching = asyncio.Semaphore(20)

    async def pids_of(run: Run) -> set[int]:
        async with fetching:
            history = await temporal.client.get_workflow_handle(
                f"execution-{run.id}"
            ).fetch_history()
        return {
            int(event.activity_task_started_event_attributes.identity.split("@")[0])
            for event in history.events
            if event.HasField("activity_task_started_event_attributes")
        }

    return set().union(*await asyncio.gather(*(pids_of(run) for run in runs)))


async def test_a_holder_terminated_from_temporal_gives_its_slot_back(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
) -> None:
    action = await limited_action(api, Path(settings.data_dir), limit=1, action=SHELL_ACTION)
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    stop = asyncio.Event()
    # The worker's own loop, at a test-sized interval (15 s by default).
    sweeping = asyncio.create_task(
        run_reconciler(
            create_session_factory(engine),
            starter,
            interval=timedelta(seconds=2),
            grace=timedelta(seconds=1),
            stop=stop,
        )
    )
    try:
        async with make_worker(temporal, engine, settings):
            holder, waiting = await request_runs(
                api, action, 2, parameters={"cmd": "sleep 300"}, in_flight=1
            )
            await wait_for_status(api, holder, {"running"})
            terminated_at = time.monotonic()

            await starter.handle(holder).terminate(reason="operator pulled the plug")

            await wait_for_status(api, waiting, {"running"}, within=60)
            freed_within = time.monotonic() - terminated_at
            ended = await wait_for_status(api, holder)
            await api.post(f"/api/v1/executions/{waiting}/cancel")
            await wait_for_status(api, waiting)
    finally:
        stop.set()
        await sweeping

    assert freed_within < 60
    assert ended["status"] == "abandoned"
    assert ended["released_at"] is not None
    stats = await queue_stats(api, action)
    assert (stats["queue_length"], stats["active_count"], stats["total_completed"]) == (0, 0, 2)


async def test_the_sweeper_frees_the_slot_of_a_holder_terminated_before_it_ran(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
) -> None:
    """No worker polls, so only the sweeper can notice that the holder's workflow is gone."""
    action = await limited_action(api, Path(settings.data_dir), limit=1)
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    holder, waiting = await request_runs(api, action, 2, in_flight=1)
    await starter.handle(holder).terminate(reason="test")

    report = await sweep_admissions(
        create_session_factory(engine), starter, grace=timedelta(seconds=0)
    )

    assert report.released == (holder,)
    assert report.granted == (waiting,)
    runs = {run.id: run for run in await runs_of(engine, action)}
    assert runs[holder].status == "abandoned"
    assert (
        "terminated in Temporal" in (await api.get(f"/api/v1/executions/{holder}")).json()["error"]
    )
    assert runs[waiting].admitted_at is not None
    async with make_worker(temporal, engine, settings):
        assert (await wait_for_status(api, waiting))["status"] == "completed"


async def test_a_rate_limit_of_two_per_second_holds_over_a_ten_second_burst(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
) -> None:
    action = await limited_action(api, Path(settings.data_dir), rate_limit={"per_second": 2})
    queues = build_rate_limited_queues(
        temporal.client,
        task_queue=settings.task_queue,
        engine=engine,
        runner_settings=runner_settings_from(settings),
    )
    await queues.refresh()  # the limit is on the server before anything is requested
    try:
        async with make_worker(temporal, engine, settings):
            await request_runs(api, action, 24, in_flight=24)
            runs = await wait_until_all_ended(engine, action, 24, within=60)
    finally:
        await queues.close()

    starts = sorted(run.started_at.timestamp() for run in runs if run.started_at is not None)
    assert len(starts) == 24
    # Temporal's token bucket lets a small burst through at once (4 measured), then exactly
    # 2 a second: 0.0, 0.03, 0.05, 0.21, 0.71, 1.21, ... 10.21 s for 24 runs.
    burst = 4
    for window in (2.0, 3.0, 5.0):
        most = max(sum(1 for t in starts if first <= t < first + window) for first in starts)
        assert most <= 2 * window + burst, (window, most)
    span = starts[-1] - starts[burst - 1]
    assert (len(starts) - burst) / span <= 2.1, span  # the steady rate over ~10 seconds
    assert span >= 9.5


async def test_a_grant_whose_signal_was_lost_is_signalled_again_by_the_sweep(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
) -> None:
    action = await limited_action(api, Path(settings.data_dir), limit=1, action=SHELL_ACTION)
    starter = WorkflowStarter.from_settings(temporal.client, settings)
    async with make_worker(temporal, engine, settings):
        holder, waiting = await request_runs(
            api, action, 2, parameters={"cmd": "sleep 300"}, in_flight=1
        )
        await wait_for_status(api, holder, {"running"})
        async with create_session_factory(engine)() as session:
            # Raise the limit and grant behind everyone's back: no signal is sent.
            await session.execute(
                update(Policy).where(Policy.action_ref == action).values(concurrency_limit=2)
            )
            action_id = await session.scalar(
                select(Execution.action_id).where(Execution.id == holder)
            )
            assert action_id is not None
            assert await admission.grant(session, action_id=action_id) == [waiting]
            await session.commit()
        await asyncio.sleep(1)
        assert (await api.get(f"/api/v1/executions/{waiting}")).json()["status"] == "scheduled"

        report = await sweep_admissions(
            create_session_factory(engine), starter, grace=timedelta(seconds=0)
        )

        assert report.resignalled == (waiting,)
        await wait_for_status(api, waiting, {"running"}, within=10)
        for id in (holder, waiting):
            await api.post(f"/api/v1/executions/{id}/cancel")
            await wait_for_status(api, id)


async def written_runs(engine: AsyncEngine, action: str, count: int) -> list[PendingStart]:
    """Rows written as the API writes them, with no workflow started (as if it died)."""
    async with create_session_factory(engine).begin() as session:
        found = await find_runnable_action(session, action)
        return [await request_execution(session, action=found, parameters={}) for _ in range(count)]


async def test_the_sweep_releases_the_slot_of_a_run_that_ended_without_releasing(
    api: httpx.AsyncClient, engine: AsyncEngine, temporal: TemporalServer, settings: Settings
) -> None:
    action = await limited_action(api, Path(settings.data_dir), limit=1)
    holder, waiting = (pending.execution.id for pending in await written_runs(engine, action, 2))
    async with create_session_factory(engine).begin() as session:
        # Ended by a path that forgot the queue: the slot is still counted as held.
        await executions.finish(session, id=holder, status=ExecutionStatus.FAILED, error="x")
    assert (await queue_stats(api, action))["active_count"] == 1

    report = await sweep_admissions(
        create_session_factory(engine),
        WorkflowStarter.from_settings(temporal.client, settings),
        grace=timedelta(seconds=0),
    )

    assert report.released == (holder,)
    assert report.granted == (waiting,)
    stats = await queue_stats(api, action)
    assert (stats["active_count"], stats["queue_length"], stats["total_completed"]) == (1, 0, 1)


async def test_a_slot_granted_before_the_workflow_existed_reaches_it_once_started(
    api: httpx.AsyncClient, engine: AsyncEngine, temporal: TemporalServer, settings: Settings
) -> None:
    """The grant's signal found no workflow; `start_and_record` must deliver it (no sweep)."""
    action = await limited_action(api, Path(settings.data_dir), limit=1)
    holder, waiting = await written_runs(engine, action, 2)
    assert waiting.waits_for_admission
    async with create_session_factory(engine)() as session:
        _, granted = await admission.finish_and_release(
            session, id=holder.execution.id, status=ExecutionStatus.FAILED, error="x"
        )
        await session.commit()
    assert granted == [waiting.execution.id]

    async with make_worker(temporal, engine, settings):
        async with create_session_factory(engine)() as session:
            starter = WorkflowStarter.from_settings(temporal.client, settings)
            await starter.start_and_record(session, [waiting])

        assert (await wait_for_status(api, waiting.execution.id, within=10))[
            "status"
        ] == "completed"


async def test_the_reconciler_starts_queued_orphans_in_their_turn(
    api: httpx.AsyncClient, engine: AsyncEngine, temporal: TemporalServer, settings: Settings
) -> None:
    action = await limited_action(api, Path(settings.data_dir), limit=1)
    orphans = [pending.execution.id for pending in await written_runs(engine, action, 3)]
    starter = WorkflowStarter.from_settings(temporal.client, settings)

    async with make_worker(temporal, engine, settings):
        started = await reconcile_orphans(
            create_session_factory(engine), starter, grace=timedelta(seconds=0)
        )
        runs = await wait_until_all_ended(engine, action, 3, within=20)

    assert started >= 3  # orphans of other tests share the database
    assert [run.id for run in runs] == orphans
    assert {run.status for run in runs} == {"completed"}
    assert grant_inversions(runs) == 0
    assert most_at_once([(run.admitted_at, run.released_at) for run in runs]) == 1
