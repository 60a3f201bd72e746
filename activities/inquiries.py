"""The activities of inquiries: the only writers of an inquiry row.

Every write is one conditional statement, so an inquiry is answered, timed out or
cancelled exactly once however activities are retried or race each other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.ask_parameters import read_ask_parameters
from activities.execution_types import ExecutionOutcome
from activities.inquiry_types import (
    CloseInquiryInput,
    FinishAskInput,
    InquiryState,
    OpenedInquiry,
    OpenInquiryInput,
    OpenInquiryResult,
    RecordResponseInput,
)
from activities.run_messages import CANCELLED_BEFORE_RUN, CANCELLED_BY_REQUEST
from attune import errors
from attune.crypto import SecretDecryptionError
from attune.engine.secret_parameters import unsealed_parameters
from db.models import ExecutionStatus, Inquiry, InquiryStatus
from db.repositories import execution as executions
from db.repositories import inquiry as inquiries


class InquiryActivities:
    """`sessions` are ordinary (transactional) sessions: opening claims and inserts at once."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], encryption_key: bytes | None = None
    ) -> None:
        self._sessions = sessions
        # An inquirer action of a pack may mark a parameter secret, like any action.
        self._encryption_key = encryption_key

    @activity.defn(name="attune.open_inquiry")
    async def open_inquiry(self, input: OpenInquiryInput) -> OpenInquiryResult:
        """Claim the execution (`running`) and write its pending inquiry, in one transaction.

        The parameters are read here, from the execution row, so they never enter Temporal's
        history. A retry after a lost reply finds the inquiry it wrote the first time.
        """
        info = activity.info()
        workflow_id = info.workflow_id or f"execution-{input.execution_id}"
        async with self._sessions.begin() as session:
            run = await executions.claim_for_run(
                session,
                id=input.execution_id,
                workflow_id=workflow_id,
                scheduled_at=info.scheduled_time,
            )
            if run is not None:
                try:
                    asked = read_ask_parameters(
                        unsealed_parameters(
                            self._encryption_key,
                            run.execution_id,
                            run.parameters,
                            run.sealed_secrets,
                        )
                    )
                except (
                    errors.ValidationError,
                    errors.ServiceUnavailable,
                    SecretDecryptionError,
                ) as error:
                    ending = await executions.finish(
                        session,
                        id=input.execution_id,
                        status=ExecutionStatus.FAILED,
                        error=error.message
                        if isinstance(error, errors.AttuneError)
                        else str(error),
                    )
                    assert ending is not None  # claimed just now, in this transaction
                    return OpenInquiryResult(
                        outcome=ExecutionOutcome(
                            input.execution_id, ending.status.value, ending.error
                        )
                    )
                inquiry = await inquiries.repository.create(
                    session,
                    execution_id=input.execution_id,
                    prompt=asked.prompt,
                    response_schema=asked.schema,
                    assignees=asked.assignees,
                    timeout_at=datetime.now(UTC) + timedelta(seconds=asked.ttl),
                )
                return OpenInquiryResult(inquiry=opened_inquiry(inquiry))
        return await self._not_claimed(input.execution_id)

    async def _not_claimed(self, execution_id: int) -> OpenInquiryResult:
        async with self._sessions.begin() as session:
            earlier = await inquiries.list_by_execution(session, execution_id=execution_id, limit=1)
            if earlier and earlier[0].status is InquiryStatus.PENDING:
                return OpenInquiryResult(
                    inquiry=opened_inquiry(earlier[0])
                )  # a retry: same inquiry
            execution = await executions.repository.get(session, id=execution_id)
            if execution.status is ExecutionStatus.CANCELING:
                # Cancelled before it asked, and the cancel never reached the workflow.
                await executions.finish(
                    session,
                    id=execution_id,
                    status=ExecutionStatus.CANCELLED,
                    error=CANCELLED_BEFORE_RUN,
                )
                execution = await executions.repository.get(session, id=execution_id)
            return OpenInquiryResult(
                outcome=ExecutionOutcome(execution_id, execution.status.value, execution.error)
            )

    @activity.defn(name="attune.record_inquiry_response")
    async def record_response(self, input: RecordResponseInput) -> InquiryState:
        """Write an answer the workflow has accepted; unchanged if the inquiry has ended."""
        async with self._sessions.begin() as session:
            answered = await inquiries.record_response(
                session, id=input.inquiry_id, response=input.response, responder=input.responder
            )
            return await _state_after(session, input.inquiry_id, answered)

    @activity.defn(name="attune.close_inquiry")
    async def close_inquiry(self, input: CloseInquiryInput) -> InquiryState:
        """End a pending inquiry as `timeout` or `cancelled`; unchanged if it has ended."""
        async with self._sessions.begin() as session:
            closed = await inquiries.close(
                session, id=input.inquiry_id, status=InquiryStatus(input.status)
            )
            return await _state_after(session, input.inquiry_id, closed)

    @activity.defn(name="attune.finish_ask")
    async def finish_ask(self, input: FinishAskInput) -> ExecutionOutcome:
        """End an `inquirer` execution as its inquiry ended (first ending wins):
        `completed` with the answer as its result, `timeout`, or `cancelled`."""
        async with self._sessions.begin() as session:
            if input.cancelled or input.inquiry_id is None:
                # The execution first: that UPDATE waits for an `open_inquiry` still
                # committing (it holds the row), so the next statement sees its inquiry.
                await executions.finish(
                    session,
                    id=input.execution_id,
                    status=ExecutionStatus.CANCELLED,
                    error=CANCELLED_BY_REQUEST,
                )
                await inquiries.cancel_pending_of_execution(
                    session, execution_id=input.execution_id
                )
            else:
                inquiry = await inquiries.repository.get(session, id=input.inquiry_id)
                status, result, error = _ending(inquiry)
                await executions.finish(
                    session, id=input.execution_id, status=status, result=result, error=error
                )
            execution = await executions.repository.get(session, id=input.execution_id)
            return ExecutionOutcome(input.execution_id, execution.status.value, execution.error)


def opened_inquiry(inquiry: Inquiry) -> OpenedInquiry:
    """What a workflow needs of a pending inquiry to judge answers on its own."""
    assert inquiry.timeout_at is not None, "an execution's inquiry always has a timeout"
    return OpenedInquiry(
        inquiry_id=inquiry.id,
        response_schema=inquiry.response_schema,
        assignees=list(inquiry.assignees),
        timeout_at=inquiry.timeout_at.astimezone(UTC).isoformat(),
    )


def _ending(inquiry: Inquiry) -> tuple[ExecutionStatus, Any, str | None]:
    """The execution's status, result and error, from how its inquiry ended."""
    if inquiry.status is InquiryStatus.RESPONDED:
        answered_at = inquiry.responded_at.isoformat() if inquiry.responded_at else None
        result = {
            "inquiry_id": inquiry.id,
            "response": inquiry.response,
            "responder": inquiry.responder,
            "responded_at": answered_at,
        }
        return ExecutionStatus.COMPLETED, result, None
    if inquiry.status is InquiryStatus.TIMEOUT:
        expired = inquiry.timeout_at.isoformat() if inquiry.timeout_at else "its deadline"
        return (
            ExecutionStatus.TIMEOUT,
            None,
            f"inquiry {inquiry.id} expired: nobody answered it before {expired}",
        )
    if inquiry.status is InquiryStatus.CANCELLED:
        return ExecutionStatus.CANCELLED, None, CANCELLED_BY_REQUEST
    return (
        ExecutionStatus.FAILED,
        None,
        f"inquiry {inquiry.id} was still pending when its workflow stopped waiting",
    )


async def _state_after(
    session: AsyncSession, inquiry_id: int, changed: Inquiry | None
) -> InquiryState:
    """The inquiry's state after a conditional write: the row written, or the one found."""
    if changed is not None:
        return InquiryState(inquiry_id, changed.status.value, changed=True)
    current = await inquiries.repository.get(session, id=inquiry_id)
    return InquiryState(inquiry_id, current.status.value, changed=False)
