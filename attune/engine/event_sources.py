"""What a worker runs besides its tasks to keep event sources going.

- Timer schedules and sensor workflows are reconciled from the rule and sensor rows when
  the worker starts and then every `RESYNC_INTERVAL` (the API also reconciles after each
  change it makes), so a change the API could not pass on to Temporal (Temporal down at
  that moment) still lands.
- Attune's own triggers are dispatched every `DISPATCH_INTERVAL`: a rule chained on
  `core.execution_finished` fires about that long after the execution ends.
- Expired keys are deleted every `PURGE_INTERVAL` (reads treat them as absent already).

A failed pass is logged and retried; it never stops the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attune.engine.sensor_workflows import reconcile_sensors
from attune.engine.system_triggers import dispatch_system_events
from attune.engine.workflow_starts import WorkflowStarter
from attune.keys.expiry import purge_expired_keys
from attune.timers.schedules import reconcile_schedules

logger = logging.getLogger(__name__)

DISPATCH_INTERVAL = timedelta(seconds=1)
RESYNC_INTERVAL = timedelta(minutes=1)
PURGE_INTERVAL = timedelta(minutes=1)


async def reconcile_event_sources(
    sessions: async_sessionmaker[AsyncSession],
    starter: WorkflowStarter,
    *,
    packs: Collection[str] | None = None,
    sensors: bool = True,
) -> None:
    """Make Temporal's timer schedules match the rules and its sensor workflows the
    sensors: those of `packs` only, when given; no sensors without `sensors`."""
    for pack in [None] if packs is None else packs:
        await reconcile_schedules(
            sessions, starter.client, task_queue=starter.task_queue, pack=pack
        )
    if sensors:
        await reconcile_sensors(
            sessions,
            starter.client,
            task_queue=starter.task_queue,
            heartbeat_timeout_seconds=starter.heartbeat_timeout_seconds,
            packs=packs,
        )


async def run_event_sources(
    sessions: async_sessionmaker[AsyncSession],
    starter: WorkflowStarter,
    *,
    stop: asyncio.Event,
    encryption_key: bytes | None = None,
    dispatch_interval: timedelta = DISPATCH_INTERVAL,
    resync_interval: timedelta | None = RESYNC_INTERVAL,
    purge_interval: timedelta | None = PURGE_INTERVAL,
) -> None:
    """Reconcile, dispatch and purge expired keys until `stop` is set; an interval of None
    turns that part off."""
    next_resync = next_purge = 0.0
    while not stop.is_set():
        if purge_interval is not None and time.monotonic() >= next_purge:
            # A failure is logged inside; the next try is a whole interval away, as a
            # success's would be: nothing expired gets readable by waiting.
            await purge_expired_keys(sessions)
            next_purge = time.monotonic() + purge_interval.total_seconds()
        if resync_interval is not None and time.monotonic() >= next_resync:
            try:
                await reconcile_event_sources(sessions, starter)
                next_resync = time.monotonic() + resync_interval.total_seconds()
            except Exception:
                logger.exception("reconciling timers and sensors failed; retrying")
        try:
            await dispatch_system_events(sessions, starter, encryption_key=encryption_key)
        except Exception:
            logger.exception("dispatching Attune's own triggers failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), dispatch_interval.total_seconds())
