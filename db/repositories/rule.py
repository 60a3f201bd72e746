"""Rules: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Rule
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Rule, noun="rule", order_by=("ref",), natural_key="ref")


async def list_by_trigger(
    session: AsyncSession, *, trigger_id: int, limit: int = DEFAULT_LIMIT
) -> list[Rule]:
    """The rules on this trigger, enabled or not, by ref."""
    return await repository.list(session, trigger_id=trigger_id, limit=limit)


async def list_enabled_for_trigger_ref(
    session: AsyncSession, *, trigger_ref: str, limit: int = DEFAULT_LIMIT
) -> list[Rule]:
    """The enabled rules of a trigger ref, by ref: the candidates to match an event."""
    return await repository.list(session, trigger_ref=trigger_ref, enabled=True, limit=limit)


async def list_by_action(
    session: AsyncSession, *, action_id: int, limit: int = DEFAULT_LIMIT
) -> list[Rule]:
    """The rules that run this action, enabled or not, by ref."""
    return await repository.list(session, action_id=action_id, limit=limit)
