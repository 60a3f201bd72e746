"""Webhook deliveries: a signature is recorded once; old ones are forgotten."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import WebhookDelivery
from db.repositories import webhook_delivery
from tests.db.factories import make_trigger

NOW = datetime.now(UTC)


async def test_a_signature_is_recorded_once_per_trigger(session: AsyncSession) -> None:
    hook, other = await make_trigger(session), await make_trigger(session)
    signature = os.urandom(32)

    first = await webhook_delivery.record_first_delivery(
        session, trigger_id=hook.id, signature=signature, signed_at=NOW
    )
    again = await webhook_delivery.record_first_delivery(
        session, trigger_id=hook.id, signature=signature, signed_at=NOW
    )
    elsewhere = await webhook_delivery.record_first_delivery(
        session, trigger_id=other.id, signature=signature, signed_at=NOW
    )

    assert (first, again, elsewhere) == (True, False, True)
    await session.rollback()


async def test_only_deliveries_older_than_the_window_are_forgotten(session: AsyncSession) -> None:
    hook = await make_trigger(session)
    old, recent = os.urandom(32), os.urandom(32)
    for signature in (old, recent):
        await webhook_delivery.record_first_delivery(
            session, trigger_id=hook.id, signature=signature, signed_at=NOW
        )
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.signature == old)
        .values(created=NOW - timedelta(minutes=11))
    )

    await webhook_delivery.forget_received_before(session, older_than=timedelta(minutes=10))

    left = await webhook_delivery.repository.list(session, trigger_id=hook.id)
    assert [row.signature for row in left] == [recent]
    await session.rollback()
