"""`attune.Execution`: one execution of one action, as a Temporal workflow.

Started with id `execution-<id>` after the execution row commits. The run activity does
the work and records each status in PostgreSQL; this workflow keeps the `AttuneStatus`
search attribute in step and makes sure the row always ends, whatever happens to the run:
a lost worker ends it `abandoned`, a cancel ends it `cancelled`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError, TimeoutError, TimeoutType
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.execution import CANCELLED_BY_REQUEST, NOT_RETRIED, ExecutionActivities
    from activities.execution_types import (
        ExecutionInput,
        ExecutionOutcome,
        FinishExecutionInput,
        RunExecutionInput,
    )
    from workflows import search_attributes

from workflows.inquirer import INQUIRER, run_inquirer

# Temporal's own limit on the run activity when the action has no timeout of its own.
NO_TIMEOUT_BACKSTOP = timedelta(days=7)
# Time the activity has beyond the action's timeout to kill it and record the ending.
TIMEOUT_MARGIN = timedelta(minutes=1)
BOOKKEEPING_TIMEOUT = timedelta(seconds=30)


def workflow_id_for(execution_id: int) -> str:
    """The workflow id of an execution: one workflow per execution row, ever."""
    return f"execution-{execution_id}"


@workflow.defn(name="attune.Execution")
class ExecutionWorkflow:
    @workflow.run
    async def run(self, input: ExecutionInput) -> ExecutionOutcome:
        if input.runner_type == INQUIRER:
            return await run_inquirer(input)  # no action runs: the workflow waits for a person
        self._show_status("running")
        try:
            outcome = await workflow.execute_activity_method(
                ExecutionActivities.run_execution,
                RunExecutionInput(input.execution_id),
                start_to_close_timeout=_run_limit(input.timeout_seconds),
                heartbeat_timeout=timedelta(seconds=input.heartbeat_timeout_seconds),
                # Never retried: an action may not be safe to run twice.
                retry_policy=RetryPolicy(maximum_attempts=1),
                # Wait until the activity has killed the process and recorded `cancelled`.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except asyncio.CancelledError:
            await self._finish(input.execution_id, "cancelled", CANCELLED_BY_REQUEST)
            raise
        except ActivityError as error:
            if isinstance(error.cause, CancelledError):
                await self._finish(input.execution_id, "cancelled", CANCELLED_BY_REQUEST)
                raise asyncio.CancelledError() from error
            outcome = await self._finish(input.execution_id, "abandoned", _lost_run(error))
        self._show_status(outcome.status)
        return outcome

    async def _finish(self, execution_id: int, status: str, error: str) -> ExecutionOutcome:
        """Record an ending the run activity could not record itself (first ending wins)."""
        outcome = await workflow.execute_activity_method(
            ExecutionActivities.finish_execution,
            FinishExecutionInput(execution_id, status, error),
            start_to_close_timeout=BOOKKEEPING_TIMEOUT,
        )
        self._show_status(outcome.status)
        return outcome

    def _show_status(self, status: str) -> None:
        workflow.upsert_search_attributes([search_attributes.STATUS.value_set(status)])


def _run_limit(timeout_seconds: float | None) -> timedelta:
    if timeout_seconds is None:
        return NO_TIMEOUT_BACKSTOP
    return timedelta(seconds=timeout_seconds) + TIMEOUT_MARGIN


def _lost_run(error: ActivityError) -> str:
    """Why the run activity failed without recording an ending itself."""
    cause = error.cause
    if isinstance(cause, TimeoutError) and cause.type == TimeoutType.HEARTBEAT:
        return f"the worker running this action stopped responding; {NOT_RETRIED}"
    return f"the run was lost: {cause or error}"
