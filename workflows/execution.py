"""`attune.Execution`: one execution of one action, as a Temporal workflow.

Started with id `execution-<id>` after the execution row commits. The run activity does
the work and records each status in PostgreSQL; this workflow keeps the `AttuneStatus`
search attribute in step and makes sure the row always ends, whatever happens to the run:
a lost worker ends it `abandoned`, a cancel ends it `cancelled`.

An action with a concurrency policy is admitted first: the workflow waits for the
`attune.admitted` signal (see `workflows.admission`) before it runs, and the run gives
its slot back when it ends.

It runs outside the sandbox (`sandboxed=False`), which would re-import this module and
its imports for every workflow it loads: measured, a third of the worker's CPU. Keep it
to `temporalio.workflow` calls and pure code; the replay tests guard its determinism.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError, TimeoutError, TimeoutType
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.execution import ExecutionActivities
    from activities.execution_summary import as_markdown
    from activities.execution_types import (
        ExecutionInput,
        ExecutionOutcome,
        FinishExecutionInput,
        RunExecutionInput,
    )
    from activities.run_messages import CANCELLED_BY_REQUEST, NOT_RETRIED
    from workflows import search_attributes
    from workflows.admission import ADMITTED_SIGNAL, Admission
    from workflows.ids import workflow_id_for

from workflows.inquirer import INQUIRER, run_inquirer
from workflows.inquiries import BOOKKEEPING_TIMEOUT

# Temporal's own limit on the run activity when the action has no timeout of its own.
NO_TIMEOUT_BACKSTOP = timedelta(days=7)
# Time the activity has beyond the action's timeout to kill it and record the ending.
TIMEOUT_MARGIN = timedelta(minutes=1)
# A run whose worker went silent, or that a stopping worker refused, is tried again on
# another worker. That is safe however often it happens: only one attempt can claim the
# execution (a conditional UPDATE), and an attempt that finds the action already started
# ends it `abandoned` instead of running it again (`ExecutionActivities.run_execution`).
RUN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=0,  # no limit: a run waits for a worker, as a fresh one would
)


__all__ = ["ADMITTED_SIGNAL", "ExecutionWorkflow", "workflow_id_for"]


@workflow.defn(name="attune.Execution", sandboxed=False)
class ExecutionWorkflow:
    def __init__(self) -> None:
        self._admission = Admission()

    @workflow.signal(name=ADMITTED_SIGNAL)
    def admitted(self) -> None:
        """The execution's admission slot has been granted: it may run."""
        self._admission.grant()

    @workflow.run
    async def run(self, input: ExecutionInput) -> ExecutionOutcome:
        if input.runner_type == INQUIRER:
            return await run_inquirer(input)  # no action runs: the workflow waits for a person
        queued = input.admission_queued
        try:
            if not input.admitted:
                await self._admission.wait(input)
            self._show_status("running")
            workflow.set_current_details(
                f"**running**: `{input.action_ref}` (execution {input.execution_id})"
            )
            outcome = await workflow.execute_activity_method(
                ExecutionActivities.run_execution,
                RunExecutionInput(input.execution_id, admission_queued=queued),
                # A rate-limited action runs on its own queue, which Temporal paces.
                task_queue=input.activity_task_queue,
                start_to_close_timeout=_run_limit(input.timeout_seconds),
                heartbeat_timeout=timedelta(seconds=input.heartbeat_timeout_seconds),
                # Retried only until the action starts: it may not be safe to run twice.
                retry_policy=RUN_RETRY,
                # Wait until the activity has killed the process and recorded `cancelled`.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except asyncio.CancelledError:
            await self._finish(input, "cancelled", CANCELLED_BY_REQUEST)
            raise
        except ActivityError as error:
            if isinstance(error.cause, CancelledError):
                await self._finish(input, "cancelled", CANCELLED_BY_REQUEST)
                raise asyncio.CancelledError() from error
            outcome = await self._finish(input, "abandoned", _lost_run(error))
        self._show_status(outcome.status)
        workflow.set_current_details(as_markdown(outcome.status, outcome.summary))
        return outcome

    async def _finish(self, input: ExecutionInput, status: str, error: str) -> ExecutionOutcome:
        """Record an ending the run activity could not record itself (first ending wins)."""
        outcome = await workflow.execute_activity_method(
            ExecutionActivities.finish_execution,
            FinishExecutionInput(input.execution_id, status, error, input.admission_queued),
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
