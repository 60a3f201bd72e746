"""Webhook deliveries: the signed webhooks accepted lately, so a replay can be refused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, UniqueConstraint
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record


class WebhookDelivery(Record, Base):
    """One accepted signed webhook: its trigger, its signature and the time it was signed.

    Kept only as long as a signature that old is still accepted; within that window the
    same signature coming again is a replay.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("trigger_id", "signature"),)

    trigger_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("attune.trigger.id", ondelete="CASCADE")
    )
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))


# The purge of deliveries too old to matter reads them oldest first.
Index("ix_webhook_delivery_created", WebhookDelivery.created)
