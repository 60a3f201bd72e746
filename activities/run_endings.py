"""Recording how an execution ended, however the ending reached the worker.

The run activity, the workflow's fallback and the recovery of endings left by a killed
worker all end executions here: one conditional write (the first ending wins), which
also gives back a queued execution's admission slot and signals whom it admits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client

from activities.execution_types import ExecutionOutcome
from activities.runners.endings import WORKER_DIED_ERROR
from activities.runners.types import RunOutput
from attune.engine.admission import signal_admitted
from db.models import ExecutionStatus
from db.outages import until_database_answers
from db.repositories import admission
from db.repositories import execution as executions
from db.repositories.execution import Ending


def _heartbeat_if_in_activity() -> None:
    if activity.in_activity():
        activity.heartbeat()


async def record_ending(
    sessions: async_sessionmaker[AsyncSession],
    transactions: async_sessionmaker[AsyncSession],
    execution_id: int,
    status: ExecutionStatus,
    *,
    result: Any = None,
    error: str | None = None,
    queued: bool = False,
    client: Client | None = None,
) -> ExecutionOutcome:
    """Record the ending; a queued execution also gives back its slot (or its place), and
    the executions granted it are signalled (through `client`, else the activity's).

    An ending is never dropped because PostgreSQL is down: the write waits for it,
    heartbeating, since the action that produced it cannot be run again.
    """

    async def write() -> tuple[Ending | None, list[int]]:
        if queued:
            async with transactions() as session:
                ending, granted = await admission.finish_and_release(
                    session, id=execution_id, status=status, result=result, error=error
                )
                await session.commit()
            return ending, granted
        async with sessions() as session:
            ending = await executions.finish(
                session, id=execution_id, status=status, result=result, error=error
            )
        return ending, []

    finished, granted = await until_database_answers(
        write,
        what=f"while recording the ending of execution {execution_id}",
        while_waiting=_heartbeat_if_in_activity,
    )
    if granted:
        await signal_admitted(client or activity.client(), granted)
    if finished is None:
        # It had already ended (a cancel that raced the run, say): report what it holds.
        return await current_outcome(sessions, execution_id)
    return ExecutionOutcome(execution_id, finished.status.value, finished.error)


async def current_outcome(
    sessions: async_sessionmaker[AsyncSession], execution_id: int
) -> ExecutionOutcome:
    """How the execution's row says it stands (or ended)."""
    async with sessions() as session:
        execution = await executions.repository.get(session, id=execution_id)
    return ExecutionOutcome(execution_id, execution.status.value, execution.error)


def ended_status(output: RunOutput) -> ExecutionStatus:
    """The execution status a run's output ends it with: a run whose guard killed it
    because its worker died is `abandoned`, like any run lost with its worker."""
    if output.error == WORKER_DIED_ERROR:
        return ExecutionStatus.ABANDONED
    return ExecutionStatus(output.status.value)


def storable(output: RunOutput) -> Any:
    """The output as JSON PostgreSQL accepts: jsonb cannot hold the NUL character, and
    UTF-8 no lone surrogate (which JSON's `\\ud800` escapes can make)."""
    return storable_json(output.to_json())


def storable_json(value: Any) -> Any:
    """Any JSON value as PostgreSQL's jsonb accepts it (see `storable`)."""
    if isinstance(value, str):
        if not value.isascii():
            value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {storable_json(key): storable_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    return value
