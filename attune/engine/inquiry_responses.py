"""Answering an inquiry: the answer goes to the waiting workflow as a Temporal Update.

The workflow's validator decides (see `workflows/inquiries.py`), before anything is
written; here its refusals become domain errors: a broken schema 422 naming the field,
a responder who is not an assignee 403, an inquiry that takes no more answers 409. A
workflow that has closed is a 409 too, naming the inquiry's status.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from attune import errors
from attune.inquiries import (
    InquiryAnswer,
    InquiryAnswered,
    Refusal,
    closed_message,
    update_name,
)
from db.models import Inquiry, InquiryStatus
from db.repositories import execution as executions
from db.repositories import inquiry as inquiries

logger = logging.getLogger(__name__)

# How long an answer may wait for a worker to take it before the caller is told so.
ANSWER_DEADLINE = timedelta(seconds=30)
# The workflow registers an inquiry's Update right after its row commits; an answer sent
# in between is refused as unknown, and is sent again after this pause.
NOT_READY_PAUSE = 0.1

ERROR_BY_REFUSAL: dict[str, type[errors.AttuneError]] = {
    Refusal.INVALID: errors.ValidationError,
    Refusal.NOT_ASSIGNEE: errors.PermissionDenied,
    Refusal.CLOSED: errors.Conflict,
}


async def respond_to_inquiry(
    session: AsyncSession,
    client: Client,
    *,
    inquiry_id: int,
    responder: str,
    response: dict[str, Any],
) -> Inquiry:
    """Deliver the answer and return the inquiry as recorded (`responded`)."""
    inquiry = await inquiries.repository.get(session, id=inquiry_id)
    execution = await executions.repository.get(session, id=inquiry.execution_id)
    workflow_id = execution.workflow_id
    # No transaction stays open while Temporal and a worker do their part.
    await session.rollback()
    if workflow_id is None:
        raise await _closed(session, inquiry_id, "its execution has no workflow")
    handle = client.get_workflow_handle(workflow_id)
    answer = InquiryAnswer(responder=responder, response=response)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ANSWER_DEADLINE.total_seconds()
    while True:
        try:
            await handle.execute_update(
                update_name(inquiry_id),
                answer,
                result_type=InquiryAnswered,
                rpc_timeout=timedelta(seconds=max(deadline - loop.time(), 1.0)),
            )
            break
        except WorkflowUpdateFailedError as failed:
            refused = _refusal(failed.cause)
            if refused is not None:
                raise refused from None
            # Not a verdict on the answer: the Update is not registered yet, or the
            # workflow closed while it was on its way.
            current = await inquiries.repository.get(session, id=inquiry_id)
            pending = current.status is InquiryStatus.PENDING
            await session.rollback()
            if not pending:
                raise await _closed(session, inquiry_id) from None
            logger.debug(
                "inquiry %d: its workflow is not taking answers yet (%s)", inquiry_id, failed.cause
            )
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise _no_worker(inquiry_id) from None
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise await _closed(session, inquiry_id, "its workflow has ended") from None
            raise errors.ServiceUnavailable(
                f"Temporal refused the answer to inquiry {inquiry_id}: {error.message}",
                details={"id": inquiry_id},
            ) from None
        if loop.time() >= deadline:
            raise _no_worker(inquiry_id)
        await asyncio.sleep(NOT_READY_PAUSE)
    return await inquiries.repository.get(session, id=inquiry_id)


def _refusal(cause: BaseException) -> errors.AttuneError | None:
    """The domain error for a validator's refusal; None for any other failure."""
    if not isinstance(cause, ApplicationError) or cause.type not in ERROR_BY_REFUSAL:
        return None
    details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
    return ERROR_BY_REFUSAL[cause.type](cause.message, details=details)


async def _closed(
    session: AsyncSession, inquiry_id: int, otherwise: str = "it is no longer pending"
) -> errors.Conflict:
    """409 naming how the inquiry ended, as its row says."""
    inquiry = await inquiries.repository.get(session, id=inquiry_id)
    status = inquiry.status.value
    await session.rollback()
    message = (
        f"inquiry {inquiry_id} takes no more answers: {otherwise}"
        if status == InquiryStatus.PENDING
        else closed_message(inquiry_id, status)
    )
    return errors.Conflict(message, details={"id": inquiry_id, "status": status})


def _no_worker(inquiry_id: int) -> errors.ServiceUnavailable:
    seconds = int(ANSWER_DEADLINE.total_seconds())
    return errors.ServiceUnavailable(
        f"no worker took the answer to inquiry {inquiry_id} within {seconds} s (are workers "
        "running?); it may still be recorded when one does: check the inquiry before "
        "answering again",
        details={"id": inquiry_id},
    )
