"""Ending the rows of pack workflows that closed without ending them.

A pack workflow records its own ending, whatever its code does. What it cannot outlive is
a failure outside its code: a replay that finds the code non-deterministic (iterating a
set, whose order changes from process to process, say) fails the workflow as a whole,
and an operator may terminate one from the Web UI. The reconciler's pass then finds the
row still live and its workflow closed, and ends the row saying why.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowExecutionStatus, WorkflowHistoryEventFilterType
from temporalio.service import RPCError

from activities.runners.types import PACK_WORKFLOW_RUNNER
from attune.engine.admission import end_execution
from attune.engine.workflow_starts import WorkflowStarter
from db.models import ExecutionStatus
from db.repositories import execution as executions
from db.repositories import inquiry as inquiries

logger = logging.getLogger(__name__)

BATCH = 500
STUCK_ATTEMPTS = 10
ENDINGS = {
    WorkflowExecutionStatus.FAILED: ExecutionStatus.FAILED,
    WorkflowExecutionStatus.TIMED_OUT: ExecutionStatus.TIMEOUT,
    WorkflowExecutionStatus.CANCELED: ExecutionStatus.CANCELLED,
}


async def end_closed_pack_workflows(
    sessions: async_sessionmaker[AsyncSession],
    starter: WorkflowStarter,
    *,
    stuck_attempts: int = STUCK_ATTEMPTS,
) -> int:
    """End each live pack-workflow row whose workflow has closed; how many were ended.

    A workflow whose task has failed `stuck_attempts` times in a row (code that never
    yields trips the SDK's deadlock detector on every attempt) is terminated first.
    """
    ended = 0
    after = 0
    while True:
        async with sessions() as session:
            live = await executions.list_live_of_runner(
                session, runner_type=PACK_WORKFLOW_RUNNER, after=after, limit=BATCH
            )
        for execution_id in live:
            ended += await _end_if_closed(sessions, starter, execution_id, stuck_attempts)
        if len(live) < BATCH:
            return ended
        after = live[-1]


async def _end_if_closed(
    sessions: async_sessionmaker[AsyncSession],
    starter: WorkflowStarter,
    execution_id: int,
    stuck_attempts: int,
) -> int:
    handle = starter.handle(execution_id)
    try:
        description = await handle.describe()
        pending = description.raw_description.pending_workflow_task
        if description.status is WorkflowExecutionStatus.RUNNING and (
            pending.attempt >= stuck_attempts
        ):
            await handle.terminate(
                reason=f"its workflow task failed {pending.attempt} times in a row: code that "
                "never yields (a loop without await?) or that cannot run"
            )
            description = await handle.describe()
    except RPCError:
        return 0  # not started yet, or Temporal busy: the next pass looks again
    status = description.status
    if status in (None, WorkflowExecutionStatus.RUNNING):
        return 0
    reason = await _why_closed(starter, execution_id)
    async with sessions() as session:
        # Nobody else will: the workflow that would have closed them is gone.
        await inquiries.cancel_pending_of_execution(session, execution_id=execution_id)
        ending, _ = await end_execution(
            session,
            starter.client,
            id=execution_id,
            status=ENDINGS.get(status, ExecutionStatus.ABANDONED),
            error=f"its workflow ended {status.name.lower()} outside its code: {reason}",
        )
    if ending is None:
        return 0
    logger.warning("execution %d: its workflow closed %s: %s", execution_id, status, reason)
    return 1


async def _why_closed(starter: WorkflowStarter, execution_id: int) -> str:
    """The failure message of the workflow's close event, or its kind when it has none."""
    events = starter.handle(execution_id).fetch_history_events(
        event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
    )
    async for event in events:
        if event.HasField("workflow_execution_failed_event_attributes"):
            failure = event.workflow_execution_failed_event_attributes.failure
            cause = failure.cause.message if failure.HasField("cause") else ""
            return f"{failure.message}{': ' + cause if cause else ''}"
        if event.HasField("workflow_execution_terminated_event_attributes"):
            attributes = event.workflow_execution_terminated_event_attributes
            return f"terminated ({attributes.reason or 'no reason given'})"
    return "no reason recorded"
