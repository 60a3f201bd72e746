"""Triggers: the kinds of events sensors and webhooks emit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, PackContent, json_object, pack_content_checks


class Trigger(PackContent, Base):
    """A trigger type (webhook, custom or timer) and the JSON Schema of its payload."""

    __tablename__ = "trigger"
    __table_args__ = (
        *pack_content_checks(),
        CheckConstraint("trigger_type IN ('webhook', 'custom', 'timer')", name="trigger_type"),
    )

    trigger_type: Mapped[str] = mapped_column(
        Text, default="custom", server_default=text("'custom'")
    )
    payload_schema: Mapped[dict[str, Any]] = json_object()
    # What a rule may give in `trigger: {type, parameters}` (a timer's interval, say).
    parameters_schema: Mapped[dict[str, Any]] = json_object()
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
