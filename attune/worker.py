"""The Temporal worker process: every Attune workflow and activity, on one task queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.artifacts import ArtifactActivities
from activities.diagnostics import DiagnosticActivities
from activities.ending_recovery import prepare_endings_dir, run_ending_recovery
from activities.execution import ExecutionActivities, RunnerSettings
from activities.inquiries import InquiryActivities
from activities.pack_workflows import PackWorkflowActivities
from activities.runners.action_user import resolve_action_user
from activities.sensors import SensorActivities
from activities.timers import TimerActivities
from attune.artifacts.store import store_from
from attune.config import (
    Settings,
    SettingsError,
    required_database_url,
    temporal_target,
)
from attune.data_dir import DATA_DIR_MODE
from attune.engine.event_sources import run_event_sources
from attune.engine.reconciler import run_reconciler
from attune.engine.workflow_starts import WorkflowStarter
from attune.payload_codec import NO_KEY
from attune.rate_limited_queues import REFRESH_INTERVAL, RateLimitedQueues
from attune.retention import run_retention
from attune.temporal_setup import connect_temporal
from attune.worker_presence import Presence, keep_present
from db.engine import create_autocommit_session_factory, create_engine, create_session_factory
from db.repositories import workflow_code
from workflows.execution import ExecutionWorkflow
from workflows.pack_code import pack_code_finder
from workflows.pack_workflow import PackWorkflow
from workflows.ping import PingWorkflow
from workflows.sensor import SensorWorkflow
from workflows.timer_firing import TimerFiringWorkflow

logger = logging.getLogger(__name__)

# Heartbeats carry cancellation back to a running action; sending them at least every
# second bounds how long a cancelled action keeps running.
HEARTBEAT_THROTTLE = timedelta(seconds=1)

# Pack workflows run sandboxed; what they import of Attune is passed through, so that
# `attune.sdk`'s exceptions are the very classes their code catches.
PACK_SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "attune.sdk", "workflows.pack_runtime", "workflows.pack_errors"
    )
)


def connect_pack_code(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Let this process's pack-code importer fetch versions from the database."""

    async def fetch(digest: str) -> dict[str, str] | None:
        async with sessions() as session:
            return await workflow_code.files_of(session, digest=digest)

    pack_code_finder().connect(fetch, asyncio.get_running_loop())


def shutdown_grace(runner_settings: RunnerSettings | None) -> timedelta:
    return timedelta(seconds=runner_settings.shutdown_grace_seconds if runner_settings else 0)


def execution_activities(
    engine: AsyncEngine, runner_settings: RunnerSettings | None = None
) -> ExecutionActivities:
    return ExecutionActivities(
        create_autocommit_session_factory(engine),
        runner_settings or RunnerSettings(api_url="http://127.0.0.1:8000"),
        transactions=create_session_factory(engine),
    )


def build_worker(
    client: Client,
    *,
    task_queue: str,
    engine: AsyncEngine,
    runner_settings: RunnerSettings | None = None,
    heartbeat_timeout_seconds: float = 30.0,
    sticky_timeout_seconds: float = 10.0,
) -> Worker:
    """A worker with all of Attune's workflows and activities registered.

    Its shutdown lets running activities finish for the runner settings' grace, then
    cancels them (a cancelled run records `abandoned`, saying the worker was stopped).

    Must be called on the event loop the worker will run on: pack workflow code is fetched
    from the database through it (`workflows.pack_code`).
    """
    key = runner_settings.encryption_key if runner_settings else None
    transactions = create_session_factory(engine)
    diagnostics = DiagnosticActivities(engine)
    executions = execution_activities(engine, runner_settings)
    inquiries = InquiryActivities(transactions, encryption_key=key)
    children = WorkflowStarter(client, task_queue, heartbeat_timeout_seconds)
    packs = PackWorkflowActivities(
        transactions,
        children,
        autocommit=create_autocommit_session_factory(engine),
        encryption_key=key,
    )
    timers = TimerActivities(transactions, children, encryption_key=key)
    sensors = SensorActivities(
        transactions, children, runner_settings or RunnerSettings(api_url="http://127.0.0.1:8000")
    )
    artifacts = ArtifactActivities(
        transactions, runner_settings.artifacts if runner_settings else None
    )
    connect_pack_code(transactions)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            PingWorkflow,
            ExecutionWorkflow,
            PackWorkflow,
            TimerFiringWorkflow,
            SensorWorkflow,
        ],
        activities=[
            diagnostics.ping_database,
            executions.run_execution,
            executions.finish_execution,
            inquiries.open_inquiry,
            inquiries.record_response,
            inquiries.close_inquiry,
            inquiries.finish_ask,
            packs.begin,
            packs.finish,
            packs.request_child,
            packs.child_started,
            packs.child_ending,
            packs.abandon_child,
            packs.open_inquiry,
            artifacts.attach,
            timers.fire_timer,
            sensors.run_sensor,
        ],
        workflow_runner=PACK_SANDBOX,
        graceful_shutdown_timeout=shutdown_grace(runner_settings),
        # A worker that died never gives its cached workflows back: Temporal moves their next
        # task to the shared queue only once this has passed.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_timeout_seconds),
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        # Eager activity execution stays on here: Temporal only runs an activity eagerly on
        # the workflow's own task queue, so rate-limited runs (on their action's queue)
        # always go through the server's paced dispatch.
    )


def worker_from_settings(
    client: Client, engine: AsyncEngine, settings: Settings, runner: RunnerSettings
) -> Worker:
    """`build_worker` as `settings` configure it: the worker `attune worker` runs."""
    return build_worker(
        client,
        task_queue=settings.task_queue,
        engine=engine,
        runner_settings=runner,
        heartbeat_timeout_seconds=settings.action_heartbeat_timeout,
        sticky_timeout_seconds=settings.worker_sticky_timeout,
    )


def build_rate_limited_queues(
    client: Client,
    *,
    task_queue: str,
    engine: AsyncEngine,
    runner_settings: RunnerSettings | None = None,
    refresh_interval: timedelta = REFRESH_INTERVAL,
) -> RateLimitedQueues:
    """The pollers of rate-limited actions' queues (they only run actions)."""
    executions = execution_activities(engine, runner_settings)

    def action_worker(queue: str) -> Worker:
        return Worker(
            client,
            task_queue=queue,
            activities=[executions.run_execution],
            graceful_shutdown_timeout=shutdown_grace(runner_settings),
            max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
            default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        )

    return RateLimitedQueues(
        client,
        task_queue=task_queue,
        sessions=create_session_factory(engine),
        make_worker=action_worker,
        refresh_interval=refresh_interval,
    )


def endings_dir_of(settings: Settings) -> Path:
    """Where this host's action guards leave endings (created private, if need be)."""
    return prepare_endings_dir(settings.data_dir / "endings")


def runner_settings_from(settings: Settings) -> RunnerSettings:
    """How this worker runs actions; `ActionUserError` for an action user it cannot use."""
    return RunnerSettings(
        api_url=settings.public_api_url,
        kill_grace_seconds=settings.action_kill_grace,
        encryption_key=settings.encryption_key_bytes,
        action_user=resolve_action_user(settings.action_user),
        shutdown_grace_seconds=settings.worker_shutdown_grace,
        endings_dir=endings_dir_of(settings),
        artifacts=store_from(settings),
        artifacts_work_dir=artifacts_work_dir_of(settings),
    )


def artifacts_work_dir_of(settings: Settings) -> Path:
    """Where this host's runs get their ATTUNE_ARTIFACTS_DIR: 0711, so an action user may
    enter the folder of a run whose name it knows (0700, its own) but list none."""
    folder = settings.data_dir / "artifacts-work"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(DATA_DIR_MODE)
    return folder


async def run_worker(settings: Settings) -> None:
    """Poll (and reconcile) until SIGTERM or SIGINT, then stop polling at once, let running
    actions finish for up to ATTUNE_WORKER_SHUTDOWN_GRACE seconds, end the rest `abandoned`
    and exit. A run this worker receives while stopping goes back to Temporal unstarted."""
    runner = runner_settings_from(settings)  # a bad action user stops the worker right here
    if settings.encryption_key_bytes is None:
        raise SettingsError(f"ATTUNE_ENCRYPTION_KEY: required by the worker ({NO_KEY})")
    engine = create_engine(required_database_url(settings))
    address = temporal_target(settings)
    client = await connect_temporal(
        address, settings.temporal_namespace, keys=settings.encryption_key_ring
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    reconciler = asyncio.create_task(
        run_reconciler(
            create_session_factory(engine),
            WorkflowStarter.from_settings(client, settings),
            interval=timedelta(seconds=settings.reconcile_interval),
            grace=timedelta(seconds=settings.reconcile_grace),
            stop=stop,
            webhook_tolerance=timedelta(seconds=settings.webhook_tolerance_seconds),
        )
    )
    event_sources = asyncio.create_task(
        run_event_sources(
            create_session_factory(engine),
            WorkflowStarter.from_settings(client, settings),
            stop=stop,
            encryption_key=settings.encryption_key_bytes,
        )
    )
    rate_limited = build_rate_limited_queues(
        client,
        task_queue=settings.task_queue,
        engine=engine,
        runner_settings=runner,
    )
    pollers = asyncio.create_task(rate_limited.run(stop))
    endings = asyncio.create_task(
        run_ending_recovery(
            endings_dir_of(settings),
            create_autocommit_session_factory(engine),
            create_session_factory(engine),
            client,
            interval=timedelta(seconds=settings.reconcile_interval),
            stop=stop,
        )
    )
    purges = asyncio.create_task(
        run_retention(
            engine,
            create_session_factory(engine),
            executions_days=settings.retention_executions_days,
            events_days=settings.retention_events_days,
            interval=timedelta(seconds=settings.retention_interval),
            stop=stop,
            store=store_from(settings),
        )
    )
    presence = asyncio.create_task(
        keep_present(
            create_session_factory(engine),
            Presence.of_this_process(
                client.identity, (settings.task_queue,), settings.worker_heartbeat_interval
            ),
            stop=stop,
        )
    )
    try:
        async with worker_from_settings(client, engine, settings, runner):
            logger.info("worker polling task queue %r on %s", settings.task_queue, address)
            await stop.wait()
            logger.info("worker stopping")
    finally:
        stop.set()
        await reconciler
        await event_sources
        await pollers
        await endings
        purges.cancel()  # a purge cut short loses one batch's transaction, nothing else
        with contextlib.suppress(asyncio.CancelledError):
            await purges
        await presence  # last: the row says stopped once nothing of the worker runs
        await engine.dispose()
