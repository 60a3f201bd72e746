"""Events: persistence."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Event
from db.repositories.base import DEFAULT_LIMIT, FRESH, Repository

repository = Repository(Event, noun="event", newest_first=True)


async def list_by_trigger(
    session: AsyncSession,
    *,
    trigger_id: int,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Event]:
    """The events of the trigger with this id, newest first, paged by `before_id`."""
    return await repository.list(session, trigger_id=trigger_id, limit=limit, before_id=before_id)


async def list_by_trigger_ref(
    session: AsyncSession,
    *,
    trigger_ref: str,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Event]:
    """The events of the trigger ref (also after the trigger is gone), newest first."""
    return await repository.list(session, trigger_ref=trigger_ref, limit=limit, before_id=before_id)


async def create_once(session: AsyncSession, *, dedupe_key: str, **values: Any) -> Event | None:
    """Insert the event unless one with this `dedupe_key` exists; None when it does.

    One statement (`ON CONFLICT DO NOTHING`), so a retried firing racing the first one
    neither writes a second event nor aborts the caller's transaction.
    """
    statement = (
        insert(Event)
        .values(dedupe_key=dedupe_key, **values)
        .on_conflict_do_nothing(index_elements=[Event.dedupe_key])
        .returning(Event)
    )
    return (await session.scalars(statement, execution_options=FRESH)).one_or_none()
