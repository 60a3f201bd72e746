"""Policies: concurrency, queueing and rate limits on an action."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, Text, text
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, PackContent, pack_content_checks


class Policy(PackContent, Base):
    """Limits on how many executions of an action run, queue, or start per second."""

    __tablename__ = "policy"
    __table_args__ = (
        *pack_content_checks(),
        CheckConstraint("concurrency_limit >= 1", name="concurrency_limit_positive"),
        CheckConstraint("max_queue_length >= 0", name="max_queue_length_nonnegative"),
        CheckConstraint("on_full IN ('reject')", name="on_full"),
        CheckConstraint("method IN ('enqueue', 'cancel')", name="method"),
        # NaN > 0 holds in PostgreSQL and NaN sorts above Infinity: this refuses both.
        CheckConstraint(
            "rate_limit_per_second > 0 AND rate_limit_per_second < 'Infinity'",
            name="rate_limit_positive",
        ),
    )

    action_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.action.id", ondelete="SET NULL")
    )
    action_ref: Mapped[str] = mapped_column(Text)
    concurrency_limit: Mapped[int | None] = mapped_column(Integer)
    max_queue_length: Mapped[int] = mapped_column(
        Integer, default=10000, server_default=text("10000")
    )
    on_full: Mapped[str] = mapped_column(Text, default="reject", server_default=text("'reject'"))
    method: Mapped[str] = mapped_column(Text, default="enqueue", server_default=text("'enqueue'"))
    rate_limit_per_second: Mapped[float | None] = mapped_column(DOUBLE_PRECISION)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
