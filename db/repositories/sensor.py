"""Sensors: persistence."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Sensor
from db.repositories.base import DEFAULT_LIMIT, FRESH, Repository

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


class LeaseLost(Exception):
    """Another lease (a newer attempt, on another worker) runs the sensor now."""


async def claim_lease(session: AsyncSession, *, ref: str, token: str) -> None:
    """Make `token` the sensor's lease: the newest attempt always wins, since Temporal
    starts one only after the last one's heartbeat timed out. Claimed before the state
    is read, so no write of the older lease lands after that read."""
    await session.execute(update(Sensor).where(Sensor.ref == ref).values(lease_token=token))


async def hold_lease(session: AsyncSession, *, id: int, token: str) -> None:
    """`LeaseLost` unless `token` holds the sensor; else the row stays share-locked until
    the caller's transaction ends, so a takeover waits for what this lease writes."""
    held = await session.scalar(
        select(Sensor.id)
        .where(Sensor.id == id, Sensor.lease_token == token)
        .with_for_update(read=True)
    )
    if held is None:
        raise LeaseLost(f"sensor {id} is run by another lease now")


async def write_under_lease(
    session: AsyncSession, *, id: int, token: str, changes: dict[str, Any]
) -> Sensor | None:
    """Write `changes` if `token` still holds the sensor; None when the sensor is gone,
    `LeaseLost` when another lease holds it."""
    statement = (
        update(Sensor)
        .where(Sensor.id == id, Sensor.lease_token == token)
        .values(**changes)
        .returning(Sensor)
    )
    written = (await session.scalars(statement, execution_options=FRESH)).one_or_none()
    if written is None and await repository.find(session, id=id) is not None:
        raise LeaseLost(f"sensor {id} is run by another lease now")
    return written
