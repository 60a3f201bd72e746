"""Events: trigger instances emitted by sensors and webhooks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record, json_object


class Event(Record, Base):
    """One occurrence of a trigger, with its payload."""

    __tablename__ = "event"

    trigger_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.trigger.id", ondelete="SET NULL"), index=True
    )
    trigger_ref: Mapped[str] = mapped_column(Text, index=True)
    payload: Mapped[dict[str, Any]] = json_object()
    source_sensor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.sensor.id", ondelete="SET NULL")
    )
    # Who wrote it and for which occurrence (a timer's schedule and fire time, say): a
    # retried firing writes the same key, and the unique constraint keeps one event.
    dedupe_key: Mapped[str | None] = mapped_column(Text, unique=True)


# The retention purge finds the oldest first and carries on after the last it deleted.
Index("ix_event_created_id", Event.created, Event.id)
