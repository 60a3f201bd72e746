"""The worker's pollers of rate-limited task queues, one per action with a rate limit.

Rate-limit policies are enforced by the Temporal server on each action's own activity
task queue (see `attune.engine.rate_limits`). This keeps, in each worker process, one
poller per such queue, and sets each queue's limit on the server before polling it, so
no task is handed out faster than the policy allows. A policy that goes away has its
limit removed, and its queue is still polled: runs already routed there must finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from attune.engine.rate_limits import activity_queue_for, apply_rate_limit
from db.repositories import policy as policies

logger = logging.getLogger(__name__)

REFRESH_INTERVAL = timedelta(seconds=2)


class RateLimitedQueues:
    """Polls the rate-limited queue of every rate-limited action, refreshing from policies."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        sessions: async_sessionmaker[AsyncSession],
        make_worker: Callable[[str], Worker],
        refresh_interval: timedelta = REFRESH_INTERVAL,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._sessions = sessions
        self._make_worker = make_worker
        self._refresh_interval = refresh_interval
        self._applied: dict[str, float | None] = {}
        self._pollers: dict[str, asyncio.Task[None]] = {}
        self._workers: list[Worker] = []

    async def refresh(self) -> None:
        """Apply every rate limit as the policies now say, and poll each limited queue."""
        async with self._sessions() as session:
            limits = await policies.list_rate_limits(session)
        wanted: dict[str, float | None] = {
            activity_queue_for(self._task_queue, ref): rate for ref, rate in limits.items()
        }
        for queue in self._applied.keys() - wanted.keys():
            wanted[queue] = None  # policy gone: lift the limit, keep polling
        for queue, rate in wanted.items():
            if self._applied.get(queue, -1.0) != rate:
                # Limit first, poller second: no task leaves the queue unpaced.
                await apply_rate_limit(self._client, queue, rate)
                self._applied[queue] = rate
                logger.info("rate limit of task queue %r set to %s per second", queue, rate)
            if queue not in self._pollers:
                worker = self._make_worker(queue)
                self._workers.append(worker)
                self._pollers[queue] = asyncio.create_task(worker.run())

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh every interval until `stop` is set, then stop the pollers."""
        try:
            while not stop.is_set():
                try:
                    await self.refresh()
                except Exception:
                    logger.exception("refreshing rate-limited queues failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._refresh_interval.total_seconds())
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop every poller, letting the runs in hand finish as the worker's shutdown does."""
        await asyncio.gather(*(worker.shutdown() for worker in self._workers))
        await asyncio.gather(*self._pollers.values(), return_exceptions=True)
        self._workers.clear()
        self._pollers.clear()
