"""Enforcements: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Enforcement, EnforcementStatus
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Enforcement, noun="enforcement", newest_first=True)


async def list_by_rule(
    session: AsyncSession,
    *,
    rule_id: int,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Enforcement]:
    """The enforcements of the rule with this id, newest first, paged by `before_id`."""
    return await repository.list(session, rule_id=rule_id, limit=limit, before_id=before_id)


async def list_by_status(
    session: AsyncSession,
    *,
    status: EnforcementStatus,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Enforcement]:
    """The enforcements in this status, newest first, paged by `before_id`."""
    return await repository.list(session, status=status, limit=limit, before_id=before_id)


async def list_by_event(
    session: AsyncSession,
    *,
    event_id: int,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Enforcement]:
    """The enforcements of the event with this id, newest first, paged by `before_id`."""
    return await repository.list(session, event_id=event_id, limit=limit, before_id=before_id)
