"""Waiting in a workflow for an admission slot (FIFO concurrency policies).

The slot is granted in PostgreSQL (`db.repositories.admission`) by whoever frees one,
who then signals `attune.admitted`. The workflow itself sets no timer: the periodic
re-check is the sweeper every worker runs (`attune.engine.admission_sweeper`), which
re-signals grants that have not started running and grants slots left free. So a lost
signal delays an execution by at most one sweep, and ten thousand waiting executions
cost Temporal no timers at all.

While it waits, the Web UI shows `AttuneStatus = queued` (set when the workflow starts)
and, in the workflow's current details, its place in the queue.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.execution_types import ExecutionInput

ADMITTED_SIGNAL = "attune.admitted"


class Admission:
    """The admission state of one execution workflow."""

    def __init__(self) -> None:
        self._granted = False

    def grant(self) -> None:
        self._granted = True

    async def wait(self, input: ExecutionInput) -> None:
        """Return once the execution's slot has been granted."""
        workflow.set_current_details(
            f"Waiting for admission to {input.action_ref}: {input.waiting_ahead} waiting "
            f"ahead when it was requested (queue position {input.queue_position})."
        )
        await workflow.wait_condition(lambda: self._granted)
        workflow.set_current_details(f"Admitted to {input.action_ref}.")
