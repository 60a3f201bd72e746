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

from attune.engine.admission import end_execution, signal_admitted
from attune.engine.admission_sweeper import sweep_admissions
from attune.engine.closed_workflows import end_closed_pack_workflows
from attune.engine.workflow_starts import WorkflowStarter, pending_starts_for
from db.models import ExecutionStatus
from db.repositories import execution as executions
from db.repositories import webhook_delivery

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
        pending = await pending_starts_for(session, orphans)
    started = 0
    for start in pending:
        if await starter.start(start):
            started += 1
            logger.info("reconciler started the workflow of execution %d", start.execution.id)
        else:
            await _close_if_workflow_ended(sessions, starter, start.execution.id)
    await _end_stranded_children(sessions, starter, grace=grace)
    if orphans:
        # Each of them has a workflow now; rows just closed above are no longer `requested`.
        async with sessions() as session:
            admitted = await executions.mark_scheduled(session, ids=[row.id for row in orphans])
            await session.commit()
        # Slots granted while they had no workflow: the grant's signal found nobody.
        await signal_admitted(starter.client, admitted)
    return started


async def _end_stranded_children(
    sessions: async_sessionmaker[AsyncSession], starter: WorkflowStarter, *, grace: timedelta
) -> None:
    """A child whose parent ended before starting it (terminated, say) will never run."""
    async with sessions() as session:
        stranded = await executions.list_stranded_children(
            session, created_before=datetime.now(UTC) - grace, limit=BATCH
        )
        for execution_id in stranded:
            await end_execution(
                session,
                starter.client,
                id=execution_id,
                status=ExecutionStatus.ABANDONED,
                error="its parent workflow ended before starting it",
            )


async def _close_if_workflow_ended(
    sessions: async_sessionmaker[AsyncSession], starter: WorkflowStarter, execution_id: int
) -> None:
    """A workflow that closed (terminated, say) before its run began can never end the row."""
    description = await starter.handle(execution_id).describe()
    if description.status in (None, WorkflowExecutionStatus.RUNNING):
        return
    async with sessions() as session:
        await end_execution(
            session,
            starter.client,
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
    webhook_tolerance: timedelta = timedelta(minutes=5),
) -> None:
    """Reconcile every `interval` until `stop` is set; a failed pass is logged and retried.

    Each pass also sweeps admission (see `admission_sweeper`), ends the rows of pack
    workflows that closed without ending them (see `closed_workflows`), and forgets the signed
    webhook deliveries too old to be replayed (refused by their timestamp anyway), off
    the webhooks' own transactions.
    """
    while not stop.is_set():
        try:
            await reconcile_orphans(sessions, starter, grace=grace)
            await sweep_admissions(sessions, starter, grace=grace)
            await end_closed_pack_workflows(sessions, starter)
            async with sessions.begin() as session:
                await webhook_delivery.forget_received_before(
                    session, older_than=2 * webhook_tolerance
                )
        except Exception:
            logger.exception("reconciler pass failed; retrying in %s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval.total_seconds())
