"""Events: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Event
from db.repositories.base import DEFAULT_LIMIT, Repository

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
