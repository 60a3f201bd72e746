"""Actions: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Action
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Action, noun="action", order_by=("ref",), natural_key="ref")


async def list_by_pack(
    session: AsyncSession, *, pack_id: int, limit: int = DEFAULT_LIMIT
) -> list[Action]:
    """The actions a pack ships, by ref."""
    return await repository.list(session, pack_id=pack_id, limit=limit)


async def list_enabled(session: AsyncSession, *, limit: int = DEFAULT_LIMIT) -> list[Action]:
    """The actions that may run, by ref."""
    return await repository.list(session, enabled=True, limit=limit)
