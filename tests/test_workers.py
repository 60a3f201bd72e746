"""The test harness's own promise: a worker that cannot shut down fails the test, and says why."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from tests.conftest import TemporalServer
from tests.workers import running

# Set by the test: the activity signals it began, then holds its worker's shutdown until
# `released` resolves.
began = asyncio.Event()
released: asyncio.Future[None] | None = None


@activity.defn(name="tests.deaf_to_cancellation")
async def deaf_to_cancellation() -> None:
    assert released is not None
    began.set()
    while not released.done():
        try:
            await asyncio.shield(released)
        except asyncio.CancelledError:
            continue  # the shutdown's cancel is ignored, as a buggy activity might


@workflow.defn(name="tests.RunsDeafActivity", sandboxed=False)
class RunsDeafActivity:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            deaf_to_cancellation, start_to_close_timeout=timedelta(minutes=1)
        )


async def test_a_shutdown_that_overruns_fails_naming_what_still_waits(
    temporal: TemporalServer, task_queue: str
) -> None:
    global released
    released = asyncio.get_running_loop().create_future()
    worker = Worker(
        temporal.client,
        task_queue=task_queue,
        workflows=[RunsDeafActivity],
        activities=[deaf_to_cancellation],
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        await run_until_the_activity_began(temporal, worker, task_queue)

    message = str(failure.value)
    assert "had not shut down 1s after it was asked to" in message
    assert "deaf_to_cancellation (" in message
    released.set_result(None)
    await asyncio.wait_for(worker.shutdown(), 10)


async def run_until_the_activity_began(
    temporal: TemporalServer, worker: Worker, task_queue: str
) -> None:
    """Run the worker (stopping it within 1 s) until the deaf activity has begun."""
    async with running(worker, shutdown_within=1.0):
        await temporal.client.start_workflow(
            RunsDeafActivity.run, id=f"deaf-{uuid.uuid4()}", task_queue=task_queue
        )
        await asyncio.wait_for(began.wait(), 30)


async def test_a_worker_that_failed_while_the_test_ran_fails_the_test(
    temporal: TemporalServer, task_queue: str
) -> None:
    stranger = await Client.connect(temporal.address, namespace=f"nowhere-{uuid.uuid4()}")
    worker = Worker(stranger, task_queue=task_queue, activities=[deaf_to_cancellation])

    with pytest.raises(RuntimeError, match="nowhere-"):
        await run_briefly(worker)


async def run_briefly(worker: Worker) -> None:
    async with running(worker, shutdown_within=10.0):
        await asyncio.sleep(0.5)
