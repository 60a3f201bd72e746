"""The baseline: a workflow of one no-op activity, Temporal with nothing of Attune."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench.noop")
async def noop() -> None:
    """Does nothing: what is measured is Temporal's own cost."""


@workflow.defn(name="bench.Bare")
class BareWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))


async def serve(address: str, task_queue: str) -> None:
    """Run a worker for the baseline until killed, in its own process like Attune's worker."""
    import asyncio

    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(address)
    async with Worker(client, task_queue=task_queue, workflows=[BareWorkflow], activities=[noop]):
        await asyncio.Event().wait()


if __name__ == "__main__":
    import asyncio
    import sys

    asyncio.run(serve(sys.argv[1], sys.argv[2]))
