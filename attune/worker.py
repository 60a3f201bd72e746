"""The Temporal worker process: every Attune workflow and activity, on one task queue."""

from __future__ import annotations

import asyncio
import logging
import signal

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.diagnostics import DiagnosticActivities
from attune.config import Settings, required_database_url, temporal_target
from attune.temporal_setup import connect_temporal
from db.engine import create_engine
from workflows.ping import PingWorkflow

logger = logging.getLogger(__name__)


def build_worker(client: Client, *, task_queue: str, engine: AsyncEngine) -> Worker:
    """A worker with all of Attune's workflows and activities registered."""
    diagnostics = DiagnosticActivities(engine)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[PingWorkflow],
        activities=[diagnostics.ping_database],
    )


async def run_worker(settings: Settings) -> None:
    """Poll until SIGTERM or SIGINT, then finish the tasks in hand and exit."""
    engine = create_engine(required_database_url(settings))
    address = temporal_target(settings)
    client = await connect_temporal(address, settings.temporal_namespace)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with build_worker(client, task_queue=settings.task_queue, engine=engine):
            logger.info("worker polling task queue %r on %s", settings.task_queue, address)
            await stop.wait()
            logger.info("worker stopping")
    finally:
        await engine.dispose()
