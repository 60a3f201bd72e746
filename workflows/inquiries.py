"""Asking a person from inside a workflow: the one primitive every workflow asks with.

`ask(opened)` takes an inquiry whose row an activity has just written (pending), registers
the Temporal Update that answers it, and waits until it is answered, expires or is
cancelled. A waiting workflow holds no worker slot, and its wait is in Temporal's
history, so it survives any restart. `core.ask` executions use it (`workflows/inquirer.py`);
workflows that pack authors write will open their inquiry with their own activity and
call the same `ask`.

The Update's validator judges an answer before anything is written, from what the
workflow holds (the schema, the assignees, whether the inquiry is still open): a closed
inquiry, a responder who is not an assignee and an answer that breaks the schema are
refused with an `ApplicationError` whose `type` names the refusal (`attune.inquiries.
Refusal`), and a refused Update leaves no trace in the history.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

with workflow.unsafe.imports_passed_through():
    from activities.inquiries import InquiryActivities
    from activities.inquiry_types import (
        CloseInquiryInput,
        InquiryState,
        OpenedInquiry,
        RecordResponseInput,
    )
    from attune.errors import summarize
    from attune.inquiries import (
        InquiryAnswer,
        InquiryAnswered,
        Refusal,
        closed_message,
        may_answer,
        response_problems,
        update_name,
    )

# How long a bookkeeping activity (a few statements) may take; shared by every workflow.
BOOKKEEPING_TIMEOUT = timedelta(seconds=30)

PENDING = "pending"
TIMEOUT = "timeout"
CANCELLED = "cancelled"


@dataclass
class InquiryEnding:
    """How the wait ended: `responded` (with the answer) or `timeout` (a cancel raises
    CancelledError)."""

    inquiry_id: int
    status: str
    response: dict[str, Any] | None = None
    responder: str | None = None


class _Inquiry:
    """One inquiry as its workflow sees it: the validator's facts and the answer's progress."""

    def __init__(self, opened: OpenedInquiry) -> None:
        self.opened = opened
        self.id = opened.inquiry_id
        self.until = datetime.fromisoformat(opened.timeout_at)
        self.status = PENDING
        self.answer: InquiryAnswer | None = None
        # An accepted answer is being written; no other answer may be accepted meanwhile.
        self.answering = False
        # The wait is over (`timeout` or `cancelled`): answers are refused from this moment,
        # while the row is being closed.
        self.closing: str | None = None

    def validate(self, answer: InquiryAnswer) -> None:
        """Refuse an answer that must not be recorded; runs before anything is written."""
        if self.status == PENDING and self.closing is None and workflow.now() >= self.until:
            # Past the deadline, even if the timer has not fired yet in this activation (a
            # worker that was down sees the answer and the timer together).
            raise _refusal(
                Refusal.CLOSED, closed_message(self.id, TIMEOUT), {"id": self.id, "status": TIMEOUT}
            )
        if self.status != PENDING or self.answering or self.closing is not None:
            status = self.closing if self.status == PENDING and self.closing else self.status
            message = closed_message(self.id, status)
            if self.answering:
                message = f"inquiry {self.id} takes no more answers: another is being recorded"
            raise _refusal(Refusal.CLOSED, message, {"id": self.id, "status": status})
        assignees = self.opened.assignees
        if not may_answer(assignees, answer.responder):
            raise _refusal(
                Refusal.NOT_ASSIGNEE,
                f"{answer.responder!r} may not answer inquiry {self.id}; "
                f"it is assigned to {', '.join(assignees)}",
                {"id": self.id, "responder": answer.responder, "assignees": assignees},
            )
        problems = response_problems(self.opened.response_schema, answer.response)
        if problems:
            raise _refusal(
                Refusal.INVALID,
                f"invalid response to inquiry {self.id}: {summarize(problems)}",
                {"id": self.id, "field": problems[0]["field"], "errors": problems},
            )

    async def respond(self, answer: InquiryAnswer) -> InquiryAnswered:
        """Record an accepted answer; the wait in `ask` then sees it."""
        self.answering = True
        try:
            state = await workflow.execute_activity_method(
                InquiryActivities.record_response,
                RecordResponseInput(self.id, answer.responder, answer.response),
                start_to_close_timeout=BOOKKEEPING_TIMEOUT,
                summary=f"record the answer to inquiry {self.id}",
            )
        finally:
            self.answering = False
        self.status = state.status
        if state.changed:
            self.answer = answer
        if not state.changed:
            # Only this workflow ends its inquiry, so this means the row was changed by hand.
            raise _refusal(
                Refusal.CLOSED,
                closed_message(self.id, state.status),
                {"id": self.id, "status": state.status},
            )
        return InquiryAnswered(self.id, state.status, answer.responder)

    async def close(self, status: str) -> None:
        """End the inquiry without an answer, unless one got recorded first."""
        self.closing = status
        # An answer accepted in time finishes being written first: the two never race.
        await workflow.wait_condition(lambda: not self.answering)
        if self.status == PENDING:
            state = await _close(self.id, status)
            self.status = state.status


async def ask(opened: OpenedInquiry) -> InquiryEnding:
    """Wait for the answer to the pending inquiry `opened`, until its `timeout_at`.

    On timeout the inquiry is recorded `timeout`; on cancellation of the workflow it is
    recorded `cancelled` and CancelledError is raised on. Either way later answers are
    refused (409) by the validator, which stays registered for the workflow's lifetime.
    """
    inquiry = _Inquiry(opened)
    workflow.set_update_handler(
        update_name(inquiry.id), inquiry.respond, validator=inquiry.validate
    )
    until = inquiry.until
    # The Web UI shows the current details on the workflow, and the timer's summary in
    # its history: both name the inquiry an operator would answer.
    workflow.set_current_details(
        f"Waiting for an answer to inquiry {inquiry.id} until {until:%Y-%m-%d %H:%M:%S} UTC"
    )
    try:
        remaining = (until - workflow.now()).total_seconds()
        if remaining > 0:
            # The wait simply ends at the deadline; the inquiry's status says which way.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: inquiry.status != PENDING,
                    timeout=remaining,
                    timeout_summary=f"inquiry {inquiry.id} expires",
                )
        if inquiry.status == PENDING:
            await inquiry.close(TIMEOUT)
    except asyncio.CancelledError:
        await inquiry.close(CANCELLED)
        workflow.set_current_details(f"Inquiry {inquiry.id}: {inquiry.status}")
        raise
    workflow.set_current_details(f"Inquiry {inquiry.id}: {inquiry.status}")
    answer = inquiry.answer
    return InquiryEnding(
        inquiry.id,
        inquiry.status,
        response=answer.response if answer is not None else None,
        responder=answer.responder if answer is not None else None,
    )


async def _close(inquiry_id: int, status: str) -> InquiryState:
    return await workflow.execute_activity_method(
        InquiryActivities.close_inquiry,
        CloseInquiryInput(inquiry_id, status),
        start_to_close_timeout=BOOKKEEPING_TIMEOUT,
        summary=f"inquiry {inquiry_id} {status}",
    )


def _refusal(kind: Refusal, message: str, details: dict[str, object]) -> ApplicationError:
    # BENIGN: a refused answer is the system working, not an error worth a warning log.
    return ApplicationError(
        message,
        details,
        type=kind.value,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )
