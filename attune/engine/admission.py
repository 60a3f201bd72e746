"""Admission outside the workflow: ending executions that hold a slot, and granting slots.

Whoever frees a slot grants it in PostgreSQL (`db.repositories.admission`) and then
signals the waiting workflow that it may run.

A signal can be lost: the workflow may not exist yet, or the sender may die right after
the grant commits. Neither strands an execution: `start_and_record` signals again once
the workflow exists, the sweeper re-signals grants that have not started running, and the
workflow re-checks on its own timer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from db.models import ExecutionStatus
from db.repositories import action as actions
from db.repositories import admission
from db.repositories.execution import Ending
from workflows.admission import ADMITTED_SIGNAL
from workflows.ids import workflow_id_for

logger = logging.getLogger(__name__)


async def signal_admitted(client: Client, execution_ids: Iterable[int]) -> None:
    """Signal each execution's workflow that it may run; never raises."""
    await asyncio.gather(*(_signal(client, id) for id in execution_ids))


async def _signal(client: Client, execution_id: int) -> None:
    handle = client.get_workflow_handle(workflow_id_for(execution_id))
    try:
        await handle.signal(ADMITTED_SIGNAL)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:  # not started yet, or already closed
            logger.warning("could not signal execution %d its slot: %s", execution_id, error)


async def end_execution(
    session: AsyncSession,
    client: Client,
    *,
    id: int,
    status: ExecutionStatus,
    error: str | None = None,
) -> tuple[Ending | None, list[int]]:
    """End an execution from outside its run, give back its slot if it held one, commit.

    For endings the run itself could not record: a workflow gone before its run, a cancel
    that found no workflow. Returns the ending (None if it had ended already) and the
    executions granted the slot it gave back.
    """
    ending, granted = await admission.finish_and_release(session, id=id, status=status, error=error)
    await session.commit()
    await signal_admitted(client, granted)
    return ending, granted


async def grant_free_slots(session: AsyncSession, client: Client, *, action_ref: str) -> list[int]:
    """Grant the slots a changed policy freed on the action (raised, disabled, removed), commit.

    A lowered limit takes nothing back: holders keep their slots and grants wait until
    fewer than the new limit hold one.
    """
    action = await actions.repository.find_by_key(session, action_ref)
    if action is None:
        return []
    granted = await admission.grant(session, action_id=action.id)
    await session.commit()
    await signal_admitted(client, granted)
    return granted


async def grant_all_waiting(session: AsyncSession, client: Client) -> list[int]:
    """Grant free slots in every queue that has executions waiting (after a pack changed
    its policies, and in each sweep); one commit per queue, so each lock is held briefly."""
    granted: list[int] = []
    for action_id in await admission.actions_with_waiting(session):
        granted += await admission.grant(session, action_id=action_id)
        await session.commit()
    await signal_admitted(client, granted)
    return granted
