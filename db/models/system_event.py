"""The outbox of Attune's own triggers: what ended or began, waiting to become an event."""

from __future__ import annotations

from sqlalchemy import BigInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record


class SystemEvent(Record, Base):
    """An execution that ended or an inquiry created while a rule listened for it.

    Written by database triggers (migration 0007) in the transaction that made the
    change; `attune.engine.system_triggers` turns each into an event and deletes it.
    """

    __tablename__ = "system_event"

    trigger_ref: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[int] = mapped_column(BigInteger)
