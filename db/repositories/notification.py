"""Notifications: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Notification, NotificationState
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Notification, noun="notification", newest_first=True)


async def list_by_state(
    session: AsyncSession,
    *,
    state: NotificationState,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Notification]:
    """The notifications in this delivery state, newest first, paged by `before_id`."""
    return await repository.list(session, state=state, limit=limit, before_id=before_id)
