"""The `inquirer` runner: an execution of `core.ask` (or any `inquirer` action) as a wait.

No action runs. An activity claims the execution (`running`) and writes its inquiry from
the parameters in PostgreSQL; `workflows.inquiries.ask` waits for the answer; a last
activity ends the execution from how the inquiry ended: `completed` with the answer as
its result, `timeout`, or `cancelled`.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

with workflow.unsafe.imports_passed_through():
    from activities.execution_types import ExecutionInput, ExecutionOutcome
    from activities.inquiries import InquiryActivities
    from activities.inquiry_types import FinishAskInput, OpenInquiryInput
    from workflows import search_attributes

from workflows.inquiries import BOOKKEEPING_TIMEOUT, ask

INQUIRER = "inquirer"


async def run_inquirer(input: ExecutionInput) -> ExecutionOutcome:
    """Ask, wait, and end the execution as the inquiry ended."""
    _show_status("running")
    try:
        opened = await workflow.execute_activity_method(
            InquiryActivities.open_inquiry,
            OpenInquiryInput(input.execution_id),
            start_to_close_timeout=BOOKKEEPING_TIMEOUT,
            summary=f"open the inquiry of execution {input.execution_id}",
        )
        if opened.inquiry is None:
            assert opened.outcome is not None, "open_inquiry returns an inquiry or an outcome"
            outcome = opened.outcome
            _show_status(outcome.status)
        else:
            ending = await ask(opened.inquiry)
            outcome = await _finish(FinishAskInput(input.execution_id, ending.inquiry_id))
    except asyncio.CancelledError:
        await _finish(FinishAskInput(input.execution_id, cancelled=True))
        raise
    except ActivityError as error:
        if not isinstance(error.cause, CancelledError):
            raise
        await _finish(FinishAskInput(input.execution_id, cancelled=True))
        raise asyncio.CancelledError() from error
    # An answer's Update returns its result before the workflow may close.
    await workflow.wait_condition(workflow.all_handlers_finished)
    return outcome


async def _finish(finish: FinishAskInput) -> ExecutionOutcome:
    outcome = await workflow.execute_activity_method(
        InquiryActivities.finish_ask,
        finish,
        start_to_close_timeout=BOOKKEEPING_TIMEOUT,
        summary=f"end execution {finish.execution_id}",
    )
    _show_status(outcome.status)
    return outcome


def _show_status(status: str) -> None:
    workflow.upsert_search_attributes([search_attributes.STATUS.value_set(status)])
