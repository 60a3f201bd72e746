"""Notifications: changes to entities, queued for delivery to listeners."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record
from db.models.enums import NOTIFICATION_STATE, NotificationState


class Notification(Record, Base):
    """An activity on an entity, to be published on a channel."""

    __tablename__ = "notification"

    channel: Mapped[str] = mapped_column(Text)
    entity_type: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str] = mapped_column(Text)
    activity: Mapped[str] = mapped_column(Text)
    state: Mapped[NotificationState] = mapped_column(
        NOTIFICATION_STATE,
        default=NotificationState.CREATED,
        server_default=text("'created'"),
        index=True,
    )
    content: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
