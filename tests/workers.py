"""Running a Temporal worker in a test, and stopping it within a bound.

`async with Worker(...)` waits for shutdown forever. A shutdown that hangs (an activity
that never ends, say) would then hang the whole session until pytest-timeout kills it,
and its thread dump shows only an idle event loop. Here a shutdown that overruns fails
the test instead, naming every coroutine still waiting and where.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from temporalio.worker import Worker

SHUTDOWN_LIMIT_SECONDS = 30.0


@asynccontextmanager
async def running(
    worker: Worker, *, shutdown_within: float = SHUTDOWN_LIMIT_SECONDS
) -> AsyncIterator[Worker]:
    """Run `worker` for the block; shut it down after, failing if that takes too long."""
    run = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        await _stop(worker, run, within=shutdown_within)


async def _stop(worker: Worker, run: asyncio.Task[None], *, within: float) -> None:
    shutdown = asyncio.ensure_future(worker.shutdown())
    _, pending = await asyncio.wait({shutdown, run}, timeout=within)
    if pending:
        pytest.fail(
            f"the worker had not shut down {within:g}s after it was asked to; "
            f"what is still waiting:\n{pending_coroutines()}"
        )
    await shutdown
    await run  # a worker that failed while the test ran fails the test here


def pending_coroutines() -> str:
    """Every other pending task's chain of awaits, innermost last: where each one waits."""
    current = asyncio.current_task()
    chains = []
    for task in asyncio.all_tasks():
        if task is current or task.done():
            continue
        frames = " -> ".join(_await_chain(task.get_coro()))
        chains.append(f"- {task.get_name()}: {frames}")
    return "\n".join(sorted(chains))


def _await_chain(coroutine: Any) -> list[str]:
    """`Task.get_stack` shows one frame of a suspended task; follow its awaits instead."""
    chain = []
    while coroutine is not None:
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
        if frame is not None:
            chain.append(f"{frame.f_code.co_name} ({frame.f_code.co_filename}:{frame.f_lineno})")
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)
    return chain
