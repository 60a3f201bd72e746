"""Keeping admission moving when a signal or a release was lost.

Every worker sweeps on the reconciler's timer; sweeps are idempotent, so several at once
are harmless. A sweep

- gives back the slot of a holder whose workflow has closed without ending its row
  (terminated from the Temporal side, say): the row ends `abandoned`;
- gives back the slot of a holder that ended without releasing it;
- re-signals holders granted a slot that have not started running (a lost signal);
- grants slots that are free while executions wait (a raised limit, a lost grant).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from attune.engine.admission import end_execution, grant_all_waiting, signal_admitted
from attune.engine.workflow_starts import WorkflowStarter
from db.models import ExecutionStatus
from db.models.enums import TERMINAL_EXECUTION_STATUSES
from db.repositories import admission
from db.repositories.admission import Holder
from db.repositories.execution import RUNNABLE_STATUSES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did, by execution id."""

    released: tuple[int, ...] = ()
    resignalled: tuple[int, ...] = ()
    granted: tuple[int, ...] = ()


async def sweep_admissions(
    sessions: async_sessionmaker[AsyncSession], starter: WorkflowStarter, *, grace: timedelta
) -> SweepReport:
    """One sweep; holders granted less than `grace` ago are left to their workflows."""
    async with sessions() as session:
        holders = await admission.list_holders(session, admitted_before=datetime.now(UTC) - grace)
    released: list[int] = []
    resignal: list[int] = []
    granted: list[int] = []
    for holder in holders:
        freed = await _release_if_gone(sessions, starter, holder)
        if freed is not None:
            released.append(holder.id)
            granted += freed
        elif holder.status in RUNNABLE_STATUSES:
            resignal.append(holder.id)
    await signal_admitted(starter.client, resignal)
    async with sessions() as session:
        granted += await grant_all_waiting(session, starter.client)
    return SweepReport(tuple(released), tuple(resignal), tuple(granted))


async def _release_if_gone(
    sessions: async_sessionmaker[AsyncSession], starter: WorkflowStarter, holder: Holder
) -> list[int] | None:
    """Release the holder's slot if its row has ended or its workflow has closed.

    Returns the executions granted the slot, or None when the holder keeps it.
    """
    if holder.status in TERMINAL_EXECUTION_STATUSES:
        async with sessions() as session:
            granted = await admission.release(session, id=holder.id)
            await session.commit()
        await signal_admitted(starter.client, granted)
        return granted
    try:
        description = await starter.handle(holder.id).describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        return None  # no workflow yet: the reconciler starts it
    if description.status in (None, WorkflowExecutionStatus.RUNNING):
        return None
    closed = description.status.name.lower()
    logger.warning("execution %d held a slot but its workflow is %s", holder.id, closed)
    async with sessions() as session:
        _, granted = await end_execution(
            session,
            starter.client,
            id=holder.id,
            status=ExecutionStatus.ABANDONED,
            error=f"its workflow was {closed} in Temporal; its concurrency slot was given back",
        )
    return granted
