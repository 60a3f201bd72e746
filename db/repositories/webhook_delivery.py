"""Webhook deliveries: persistence of the signatures that make a replay recognisable."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import WebhookDelivery
from db.repositories.base import Repository

repository = Repository(WebhookDelivery, noun="webhook delivery")


async def record_first_delivery(
    session: AsyncSession, *, trigger_id: int, signature: bytes, signed_at: datetime
) -> bool:
    """Record the delivery; False when this signature was recorded already (a replay).

    One statement: two API processes receiving the same delivery at once cannot both
    record it; the second waits for the first's transaction and then finds it.
    """
    statement = (
        insert(WebhookDelivery)
        .values(trigger_id=trigger_id, signature=signature, signed_at=signed_at)
        .on_conflict_do_nothing(index_elements=["trigger_id", "signature"])
        .returning(WebhookDelivery.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def forget_received_before(session: AsyncSession, *, older_than: timedelta) -> None:
    """Delete deliveries received longer than `older_than` ago, by the database's clock."""
    await session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.created < func.now() - older_than)
    )
