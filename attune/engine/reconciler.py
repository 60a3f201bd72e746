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
from attune.engine.workflow_starts import PendingStart, WorkflowStarter
from db.models import Action, Execution, ExecutionStatus
from db.repositories import action as actions
from db.repositories import execution as executions
from db.repositories import policy as policies
from db.repositories import webhook_delivery
from db.repositories.admission import Ticket

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
        pending = await _pending_starts(session, orphans)
    started = 0
    for start in pending:
        if await starter.start(start):
            started += 1
            logger.info("reconciler started the workflow of execution %d", start.execution.id)
        else:
            await _close_if_workflow_ended(sessions, starter, start.execution.id)
    if orphans:
        # Each of them has a workflow now; rows just closed above are no longer `requested`.
        async with sessions() as session:
            admitted = await executions.mark_scheduled(session, ids=[row.id for row in orphans])
            await session.commit()
        # Slots granted while they had no workflow: the grant's signal found nobody.
        await signal_admitted(starter.client, admitted)
    return started


async def _pending_starts(session: AsyncSession, rows: list[Execution]) -> list[PendingStart]:
    """What each row's workflow needs: its action's timeout, runner and policy routing."""
    action_ids = {row.action_id for row in rows if row.action_id is not None}
    by_id = {
        action.id: action
        for action in await actions.repository.list(
            session, where=[Action.id.in_(action_ids)], limit=BATCH
        )
    }
    rate_limited = await policies.list_rate_limits(session) if rows else {}
    pending = []
    for row in rows:
        action = by_id.get(row.action_id or 0)
        ticket = None
        if row.queue_position is not None:
            ticket = Ticket(row.queue_position, admitted=row.admitted_at is not None, ahead=0)
        pending.append(
            PendingStart(
                row,
                action.timeout_seconds if action is not None else None,
                runner_type=action.runner_type if action is not None else None,
                ticket=ticket,
                rate_limited=row.action_ref in rate_limited,
            )
        )
    return pending


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

    Each pass also sweeps admission (see `admission_sweeper`) and forgets the signed
    webhook deliveries too old to be replayed (refused by their timestamp anyway), off
    the webhooks' own transactions.
    """
    while not stop.is_set():
        try:
            await reconcile_orphans(sessions, starter, grace=grace)
            await sweep_admissions(sessions, starter, grace=grace)
            async with sessions.begin() as session:
                await webhook_delivery.forget_received_before(
                    session, older_than=2 * webhook_tolerance
                )
        except Exception:
            logger.exception("reconciler pass failed; retrying in %s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval.total_seconds())
