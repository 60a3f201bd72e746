"""Policies: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Policy
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Policy, noun="policy", order_by=("ref",), natural_key="ref")


async def list_by_action(
    session: AsyncSession, *, action_ref: str, limit: int = DEFAULT_LIMIT
) -> list[Policy]:
    """The policies on an action ref, enabled or not, by ref."""
    return await repository.list(session, action_ref=action_ref, limit=limit)


async def find_enabled_for_action(session: AsyncSession, *, action_ref: str) -> Policy | None:
    """The enabled policy on an action ref (the first by ref if several), or None."""
    return await repository.find_first(session, action_ref=action_ref, enabled=True)
