"""Cancelling an execution: record the request, then ask its workflow to stop the run."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError, RPCStatusCode

from attune import errors
from attune.engine.admission import end_execution
from attune.engine.workflow_starts import WorkflowStarter
from db.models import Execution, ExecutionStatus
from db.repositories import execution as executions


async def cancel_execution(
    session: AsyncSession, starter: WorkflowStarter, *, execution_id: int
) -> Execution:
    """Mark the execution `canceling` and cancel its workflow; `Conflict` if it has ended.

    The workflow's run activity kills the action's processes and records `cancelled`. An
    execution whose workflow never started is cancelled here and now.
    """
    canceling = await executions.mark_canceling(session, id=execution_id)
    if canceling is None:
        ended = await executions.repository.get(session, id=execution_id)
        raise errors.Conflict(
            f"execution {execution_id} has already ended ({ended.status.value})",
            details={"id": execution_id, "status": ended.status.value},
        )
    await session.commit()
    try:
        await starter.handle(execution_id).cancel()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            # The row says `canceling`; the run activity honours that if it has not begun.
            raise errors.ServiceUnavailable(
                f"execution {execution_id} is marked canceling, but Temporal refused the "
                f"cancel: {error.message}; a run that has not started yet will still be "
                "cancelled, a running one will not",
                details={"id": execution_id},
            ) from None
        await end_execution(
            session,
            starter.client,
            id=execution_id,
            status=ExecutionStatus.CANCELLED,
            error="cancelled by request before its workflow started",
        )
        return await executions.repository.get(session, id=execution_id)
    return canceling
