"""Queue statistics: persistence."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import QueueStats
from db.repositories.base import FRESH, Repository
from db.repositories.errors import domain_errors

repository = Repository(QueueStats, noun="queue statistics", order_by=("action_id",))


async def find_by_action(session: AsyncSession, *, action_id: int) -> QueueStats | None:
    """The statistics of the action, or None when it has none yet."""
    return await repository.find_first(session, action_id=action_id)


async def get_or_create(session: AsyncSession, *, action_id: int) -> QueueStats:
    """The statistics of the action, inserted with zero counts when missing (race-free)."""
    statement = (
        insert(QueueStats)
        .values(action_id=action_id)
        .on_conflict_do_nothing(index_elements=[QueueStats.action_id])
    )
    with domain_errors(repository.noun):
        await session.execute(statement)
    query = select(QueueStats).where(QueueStats.action_id == action_id)
    return (await session.scalars(query, execution_options=FRESH)).one()
