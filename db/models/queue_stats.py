"""Queue statistics: per-action admission counters for policies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, text
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record


class QueueStats(Record, Base):
    """Queue length, running count and totals of one action (one row per action)."""

    __tablename__ = "queue_stats"
    __table_args__ = (
        CheckConstraint("queue_length >= 0", name="queue_length_nonnegative"),
        CheckConstraint("active_count >= 0", name="active_count_nonnegative"),
        CheckConstraint("max_concurrent >= 0", name="max_concurrent_nonnegative"),
    )

    action_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("attune.action.id", ondelete="CASCADE"), unique=True
    )
    queue_length: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    active_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    max_concurrent: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    oldest_enqueued_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    total_enqueued: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    total_completed: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
