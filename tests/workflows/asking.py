"""A workflow of the tests' own that asks with `workflows.inquiries.ask`, as workflows that
pack authors write will: the primitive is not tied to `attune.Execution`.

Kept apart from the test module, because the workflow sandbox re-imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.inquiries import InquiryActivities
    from activities.inquiry_types import OpenInquiryInput

from workflows.inquiries import ask


@dataclass
class AskThenLingerInput:
    execution_id: int
    # A pause between writing the inquiry and listening for its answer.
    delay_seconds: float = 0.0


@workflow.defn(name="tests.AskThenLinger")
class AskThenLinger:
    """Opens an execution's inquiry, asks, and stays open until released."""

    def __init__(self) -> None:
        self._released = False

    @workflow.run
    async def run(self, input: AskThenLingerInput) -> str:
        opened = await workflow.execute_activity_method(
            InquiryActivities.open_inquiry,
            OpenInquiryInput(input.execution_id),
            start_to_close_timeout=timedelta(seconds=30),
        )
        assert opened.inquiry is not None, opened.outcome
        if input.delay_seconds:
            await workflow.sleep(input.delay_seconds)
        ending = await ask(opened.inquiry)
        await workflow.wait_condition(lambda: self._released)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ending.status

    @workflow.signal
    def release(self) -> None:
        self._released = True
