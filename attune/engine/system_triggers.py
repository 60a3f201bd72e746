"""Attune's own triggers: `core.execution_finished` and `core.inquiry_created`.

The database writes a `system_event` row in the transaction that ends an execution or
creates an inquiry (migration 0007), while some enabled rule listens on the trigger.
Here those rows become events, through the same ingestion as any other: each batch is
taken with `SKIP LOCKED` and deleted in the transaction that writes its events, so any
number of workers share the work and none is lost or written twice (the events' dedupe
keys hold even if it were).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attune import errors
from attune.engine.event_ingestion import EventSource, ingest_event
from attune.engine.rule_chains import EXECUTION_FINISHED, INQUIRY_CREATED
from attune.engine.workflow_starts import PendingStart, WorkflowStarter
from db.models import Enforcement, Execution, Inquiry, SystemEvent
from db.repositories import trigger as triggers

logger = logging.getLogger(__name__)

BATCH = 200


async def dispatch_system_events(
    sessions: async_sessionmaker[AsyncSession],
    starter: WorkflowStarter,
    *,
    encryption_key: bytes | None = None,
) -> int:
    """Turn waiting `system_event` rows into events until none is left; how many."""
    dispatched = 0
    while True:
        async with sessions() as session:
            taken = await _take_batch(session)
            if not taken:
                return dispatched
            to_start: list[PendingStart] = []
            for row in taken:
                to_start += await _ingest_one(session, row, encryption_key)
            await session.commit()
            await starter.start_and_record(session, to_start)
        dispatched += len(taken)


async def _take_batch(session: AsyncSession) -> list[SystemEvent]:
    oldest = (
        select(SystemEvent.id)
        .order_by(SystemEvent.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = delete(SystemEvent).where(SystemEvent.id.in_(oldest)).returning(SystemEvent)
    return sorted((await session.scalars(statement)).all(), key=lambda row: row.id)


async def _ingest_one(
    session: AsyncSession, row: SystemEvent, encryption_key: bytes | None
) -> list[PendingStart]:
    """The row's event (in a savepoint: one bad row must not hold back the others)."""
    try:
        async with session.begin_nested():
            payload = await _payload(session, row)
            trigger = await triggers.repository.find_by_key(session, row.trigger_ref)
            if payload is None or trigger is None or not trigger.enabled:
                return []
            ingested = await ingest_event(
                session,
                trigger=trigger,
                payload=payload,
                encryption_key=encryption_key,
                source=EventSource(dedupe_key=f"{row.trigger_ref}:{row.subject_id}"),
            )
            return ingested.to_start if ingested is not None else []
    except errors.AttuneError as error:
        logger.warning("no %s event for %d: %s", row.trigger_ref, row.subject_id, error)
        return []


async def _payload(session: AsyncSession, row: SystemEvent) -> dict[str, Any] | None:
    if row.trigger_ref == EXECUTION_FINISHED:
        execution = await session.get(Execution, row.subject_id)
        return None if execution is None else await execution_finished(session, execution)
    if row.trigger_ref == INQUIRY_CREATED:
        inquiry = await session.get(Inquiry, row.subject_id)
        return None if inquiry is None else inquiry_created(inquiry)
    return None


async def execution_finished(session: AsyncSession, execution: Execution) -> dict[str, Any]:
    """The payload of an ended execution; its parameters are stored with secrets masked."""
    return {
        "execution_id": execution.id,
        "action": execution.action_ref,
        "status": str(execution.status),
        "result": execution.result,
        "error": execution.error,
        "parameters": execution.parameters,
        "rule": execution.rule_ref,
        "parent_id": execution.parent_id,
        "started_at": _iso(execution.started_at),
        "ended_at": _iso(execution.ended_at),
        "chain": await _chain(session, execution),
    }


async def _chain(session: AsyncSession, execution: Execution) -> list[str]:
    """The rules that led to this execution through `core.execution_finished` events."""
    if execution.rule_ref is None:
        return []
    earlier: list[str] = []
    if execution.trigger_ref == EXECUTION_FINISHED and execution.enforcement_id is not None:
        enforcement = await session.get(Enforcement, execution.enforcement_id)
        chain = enforcement.payload.get("chain") if enforcement is not None else None
        if isinstance(chain, list):
            earlier = [str(ref) for ref in chain]
    return [*earlier, execution.rule_ref]


def inquiry_created(inquiry: Inquiry) -> dict[str, Any]:
    return {
        "inquiry_id": inquiry.id,
        "execution_id": inquiry.execution_id,
        "prompt": inquiry.prompt,
        "assignees": list(inquiry.assignees),
        "response_schema": inquiry.response_schema,
        "timeout_at": _iso(inquiry.timeout_at),
    }


def _iso(moment: Any) -> str | None:
    return None if moment is None else str(moment.isoformat())
