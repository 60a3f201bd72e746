"""Triggers: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Trigger
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Trigger, noun="trigger", order_by=("ref",), natural_key="ref")


async def list_by_pack(
    session: AsyncSession, *, pack_id: int, limit: int = DEFAULT_LIMIT
) -> list[Trigger]:
    """The triggers a pack ships, by ref."""
    return await repository.list(session, pack_id=pack_id, limit=limit)


async def list_by_type(
    session: AsyncSession, *, trigger_type: str, limit: int = DEFAULT_LIMIT
) -> list[Trigger]:
    """The triggers of one type (webhook, custom or timer), by ref."""
    return await repository.list(session, trigger_type=trigger_type, limit=limit)
