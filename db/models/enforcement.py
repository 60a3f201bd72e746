"""Enforcements: a rule matched an event and is to run its action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record, json_object
from db.models.enums import (
    ENFORCEMENT_CONDITION,
    ENFORCEMENT_STATUS,
    EnforcementCondition,
    EnforcementStatus,
)


class Enforcement(Record, Base):
    """A rule's decision on one event, and the parameters it rendered for the action."""

    __tablename__ = "enforcement"

    rule_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.rule.id", ondelete="SET NULL"), index=True
    )
    rule_ref: Mapped[str] = mapped_column(Text)
    event_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.event.id", ondelete="SET NULL"), index=True
    )
    trigger_ref: Mapped[str] = mapped_column(Text)
    status: Mapped[EnforcementStatus] = mapped_column(
        ENFORCEMENT_STATUS,
        default=EnforcementStatus.CREATED,
        server_default=text("'created'"),
        index=True,
    )
    condition: Mapped[EnforcementCondition] = mapped_column(
        ENFORCEMENT_CONDITION, default=EnforcementCondition.ALL, server_default=text("'all'")
    )
    conditions: Mapped[dict[str, Any]] = json_object()
    payload: Mapped[dict[str, Any]] = json_object()
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)


# The retention purge finds the oldest first and carries on after the last it deleted.
Index("ix_enforcement_created_id", Enforcement.created, Enforcement.id)
