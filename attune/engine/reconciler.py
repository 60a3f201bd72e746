"""Closing the crash window between "rows committed" and "workflow started".

If the API dies (or Temporal is down) right after an execution row commits, the row sits
in `requested` with no workflow. The reconciler finds such rows and starts their
workflows; starting one that exists is refused by Temporal, so it never runs an action
twice. Every worker runs it; more than one at a time is harmless for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowExecutionStatus

from attune.engine.workflow_starts import PendingStart, WorkflowStarter
from db.models import Action, ExecutionStatus
from db.repositories import action as actions
from db.repositories import execution as executions

logger = logging.getLogger(__name__)

BATCH = 500


async def reconcile_orphans(
    sessions: async_sessionmaker[AsyncSession], starter: WorkflowStarter, *, grace: timedelta
) -> int:
    """Start the workflows of executions `requested` for longer than `grace`; return how many.

    The grace period leaves the API time to start the workflows it has just committed.
    """
    async with sessions() as session:
        orphans = await executions.list_orphans(
            session, created_before=datetime.now(UTC) - grace, limit=BATCH
        )
        action_ids = {row.action_id for row in orphans if row.action_id is not None}
        found = await actions.repository.list(
            session, where=[Action.id.in_(action_ids)], limit=BATCH
        )
        timeouts = {action.id: action.timeout_seconds for action in found}
        runner_types = {action.id: action.runner_type for action in found}
    started = 0
    for execution in orphans:
        action_id = execution.action_id or 0
        pending = PendingStart(execution, timeouts.get(action_id), runner_types.get(action_id))
        if await starter.start(pending):
            started += 1
            logger.info("reconciler started the workflow of execution %d", execution.id)
        else:
            await _close_if_workflow_ended(sessions, starter, execution.id)
    if orphans:
        # Each of them has a workflow now; rows just closed above are no longer `requested`.
        async with sessions() as session:
            await executions.mark_scheduled(session, ids=[row.id for row in orphans])
            await session.commit()
    return started


async def _close_if_workflow_ended(
    sessions: async_sessionmaker[AsyncSession], starter: WorkflowStarter, execution_id: int
) -> None:
    """A workflow that closed (terminated, say) before its run began can never end the row."""
    description = await starter.handle(execution_id).describe()
    if description.status in (None, WorkflowExecutionStatus.RUNNING):
        return
    async with sessions.begin() as session:
        await executions.finish(
            session,
            id=execution_id,
            status=ExecutionStatus.ABANDONED,
            error=f"its workflow ended ({description.status.name.lower()}) before the action ran",
        )


async def run_reconciler(
    sessions: async_sessionmaker[AsyncSession],
    starter: WorkflowStarter,
    *,
    interval: timedelta,
    grace: timedelta,
    stop: asyncio.Event,
) -> None:
    """Reconcile every `interval` until `stop` is set; a failed pass is logged and retried."""
    while not stop.is_set():
        try:
            await reconcile_orphans(sessions, starter, grace=grace)
        except Exception:
            logger.exception("reconciler pass failed; retrying in %s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval.total_seconds())
