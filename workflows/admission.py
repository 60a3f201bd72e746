"""Waiting in a workflow for an admission slot (FIFO concurrency policies).

The slot is granted in PostgreSQL (`db.repositories.admission`) by whoever frees one,
who then signals `attune.admitted`. The wait also re-checks on a timer, so a lost signal
delays the execution but never strands it; the re-check is spaced by how many wait ahead,
so ten thousand waiting executions do not poll the database all the time.

While it waits, the Web UI shows `AttuneStatus = queued` and, in the workflow's current
details, its place in the queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.execution_types import AdmissionCheck, ExecutionInput, ExecutionOutcome
    from db.models.enums import TERMINAL_EXECUTION_STATUSES
    from workflows import search_attributes

ADMITTED_SIGNAL = "attune.admitted"
MIN_RECHECK = timedelta(seconds=30)
MAX_RECHECK = timedelta(minutes=10)
# A guess at how long each execution ahead takes, only to space the re-checks.
RECHECK_PER_EXECUTION_AHEAD = timedelta(seconds=1)


class Admission:
    """The admission state of one execution workflow."""

    def __init__(self) -> None:
        self._granted = False

    def grant(self) -> None:
        self._granted = True

    async def wait(
        self,
        input: ExecutionInput,
        check: Callable[[int], Awaitable[AdmissionCheck]],
    ) -> ExecutionOutcome | None:
        """Return once a slot is granted; or the outcome, if the execution ended meanwhile."""
        workflow.upsert_search_attributes([search_attributes.STATUS.value_set("queued")])
        _describe(input, input.waiting_ahead)
        wait = recheck_after(input.waiting_ahead)
        while not self._granted:
            try:
                await workflow.wait_condition(
                    lambda: self._granted, timeout=wait, timeout_summary="re-check admission"
                )
            except TimeoutError:
                found = await check(input.execution_id)
                if found.admitted:
                    break
                if found.status in TERMINAL_EXECUTION_STATUSES:
                    return ExecutionOutcome(input.execution_id, found.status)
                _describe(input, found.ahead)
                wait = recheck_after(found.ahead)
        workflow.set_current_details(f"Admitted to {input.action_ref}.")
        return None


def recheck_after(ahead: int) -> timedelta:
    """How long to wait for the signal before asking the database directly."""
    return min(MAX_RECHECK, max(MIN_RECHECK, RECHECK_PER_EXECUTION_AHEAD * ahead))


def _describe(input: ExecutionInput, ahead: int) -> None:
    workflow.set_current_details(
        f"Waiting for admission to {input.action_ref}: {ahead} waiting ahead "
        f"(queue position {input.queue_position}, as of {workflow.now():%H:%M:%S} UTC)."
    )
