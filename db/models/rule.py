"""Rules: which trigger events, matching which criteria, run which action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, PackContent, json_object, pack_content_checks


class Rule(PackContent, Base):
    """A rule linking a trigger, through criteria, to an action and its parameters."""

    __tablename__ = "rule"
    __table_args__ = pack_content_checks()

    trigger_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.trigger.id", ondelete="SET NULL")
    )
    trigger_ref: Mapped[str] = mapped_column(Text, index=True)
    # `trigger: {type, parameters}`: checked against the trigger's `parameters_schema`.
    trigger_parameters: Mapped[dict[str, Any]] = json_object()
    action_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.action.id", ondelete="SET NULL")
    )
    action_ref: Mapped[str] = mapped_column(Text)
    criteria: Mapped[dict[str, Any]] = json_object()
    action_parameters: Mapped[dict[str, Any]] = json_object()
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Who registered the rule's pack: its executions run as them (migration 0010).
    executor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.identity.id", ondelete="SET NULL")
    )
