"""Sensors: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Sensor
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Sensor, noun="sensor", order_by=("ref",), natural_key="ref")


async def list_by_pack(
    session: AsyncSession, *, pack_id: int, limit: int = DEFAULT_LIMIT
) -> list[Sensor]:
    """The sensors a pack ships, by ref."""
    return await repository.list(session, pack_id=pack_id, limit=limit)


async def list_for_trigger(
    session: AsyncSession, *, trigger_ref: str, limit: int = DEFAULT_LIMIT
) -> list[Sensor]:
    """The sensors whose `trigger_refs` include this trigger ref, by ref."""
    return await repository.list(
        session, where=[Sensor.trigger_refs.contains([trigger_ref])], limit=limit
    )
