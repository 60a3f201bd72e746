"""Attune's own triggers: `core.execution_finished` and `core.inquiry_created`.

The database writes a `system_event` row in the transaction that ends an execution or
creates an inquiry (migration 0007), while some enabled rule listens on the trigger.
Here those rows become events, through the same ingestion as any other: each row is
taken with `SKIP LOCKED` and deleted in the transaction that writes its event, so any
number of workers share the work and none is lost or written twice (the events' dedupe
keys hold even if it were).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attune import errors
from attune.engine.event_ingestion import EventSource, ingest_event
from attune.engine.rule_chains import EXECUTION_FINISHED, INQUIRY_CREATED, SYSTEM_TRIGGERS
from attune.engine.workflow_starts import PendingStart, WorkflowStarter
from db.models import Enforcement, Execution, Inquiry, SystemEvent
from db.repositories import trigger as triggers

logger = logging.getLogger(__name__)

MAX_NESTING = 32


async def dispatch_system_events(
    sessions: async_sessionmaker[AsyncSession],
    starter: WorkflowStarter,
    *,
    encryption_key: bytes | None = None,
) -> int:
    """Turn waiting `system_event` rows into events until none is left; how many.

    One row per transaction, as an API call takes one event: the admission locks of one
    event are taken in order, and a batch would take several events' locks in no order
    (two workers could deadlock). A row that can never become an event (its payload
    refused, or any error that is not the database's) is dropped, logged; a database
    that is away or a lock conflict leaves the row for the next pass.
    """
    dispatched = 0
    while True:
        async with sessions() as session:
            row = await _take_one(session)
            if row is None:
                return dispatched
            try:
                to_start = await _ingest(session, row, encryption_key)
                await session.commit()
            except (DBAPIError, OSError):
                await session.rollback()
                logger.warning(
                    "%s for %d waits: the database refused it",
                    row.trigger_ref,
                    row.subject_id,
                    exc_info=True,
                )
                return dispatched
            except Exception:
                await session.rollback()
                logger.exception("no %s event for %d: dropped", row.trigger_ref, row.subject_id)
                await _drop(session, row.id)
                continue
            await starter.start_and_record(session, to_start)
        dispatched += 1


async def _take_one(session: AsyncSession) -> SystemEvent | None:
    """The oldest row no other worker holds, deleted in this session's transaction."""
    oldest = (
        select(SystemEvent.id)
        .order_by(SystemEvent.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = delete(SystemEvent).where(SystemEvent.id == oldest).returning(SystemEvent)
    return (await session.scalars(statement)).one_or_none()


async def _drop(session: AsyncSession, row_id: int) -> None:
    await session.execute(delete(SystemEvent).where(SystemEvent.id == row_id))
    await session.commit()


async def _ingest(
    session: AsyncSession, row: SystemEvent, encryption_key: bytes | None
) -> list[PendingStart]:
    """The row's event and what it starts; nothing when its subject or trigger is gone."""
    payload = await _payload(session, row)
    trigger = await triggers.repository.find_by_key(session, row.trigger_ref)
    if payload is None or trigger is None or not trigger.enabled:
        return []
    try:
        ingested = await ingest_event(
            session,
            trigger=trigger,
            payload=payload,
            encryption_key=encryption_key,
            source=EventSource(dedupe_key=f"{row.trigger_ref}:{row.subject_id}"),
        )
    except errors.AttuneError as error:  # a payload the trigger refuses, say: never will do
        logger.warning("no %s event for %d: %s", row.trigger_ref, row.subject_id, error)
        return []
    return ingested.to_start if ingested is not None else []


async def _payload(session: AsyncSession, row: SystemEvent) -> dict[str, Any] | None:
    if row.trigger_ref == EXECUTION_FINISHED:
        execution = await session.get(Execution, row.subject_id)
        return None if execution is None else await execution_finished(session, execution)
    if row.trigger_ref == INQUIRY_CREATED:
        inquiry = await session.get(Inquiry, row.subject_id)
        if inquiry is None:
            return None
        asking = await session.get(Execution, inquiry.execution_id)
        chain = await _chain(session, asking) if asking is not None else []
        return inquiry_created(inquiry) | {"chain": chain}
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
    """The rules that led to this execution (or to the workflow it is a child of) through
    Attune's own triggers, its own rule last."""
    root = await _root(session, execution)
    if root.rule_ref is None:
        return []
    earlier: list[str] = []
    if root.trigger_ref in SYSTEM_TRIGGERS and root.enforcement_id is not None:
        enforcement = await session.get(Enforcement, root.enforcement_id)
        chain = enforcement.payload.get("chain") if enforcement is not None else None
        if isinstance(chain, list):
            earlier = [str(ref) for ref in chain]
    return [*earlier, root.rule_ref]


async def _root(session: AsyncSession, execution: Execution) -> Execution:
    """The top of the execution's workflow tree: a child runs on its root's behalf.

    Bounded (workflows nest at most 16 deep), so a cycle written by hand cannot hang it.
    """
    for _ in range(MAX_NESTING):
        if execution.parent_id is None:
            break
        parent = await session.get(Execution, execution.parent_id)
        if parent is None:
            break
        execution = parent
    return execution


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
