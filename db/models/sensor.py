"""Sensors: long-running or polling watchers that emit trigger events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, PackContent, json_object, pack_content_checks


class Sensor(PackContent, Base):
    """A sensor: its entry point, runtime and the triggers it emits."""

    __tablename__ = "sensor"
    __table_args__ = (
        *pack_content_checks(),
        CheckConstraint("poll_interval_seconds > 0", name="poll_interval_positive"),
    )

    entry_point: Mapped[str] = mapped_column(Text)
    runtime_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.runtime.id", ondelete="SET NULL")
    )
    trigger_refs: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'::text[]")
    )
    config: Mapped[dict[str, Any]] = json_object()
    poll_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # What the sensor keeps between polls (its cursor), saved after every poll.
    state: Mapped[dict[str, Any]] = json_object()
    last_poll_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    # Set by a poll that raised, cleared by the next that did not.
    last_error: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    # The activity attempt that runs the sensor now; a newer attempt takes it over, and the
    # writes of an older one (a worker cut off from Temporal) are refused from then on.
    lease_token: Mapped[str | None] = mapped_column(Text)
