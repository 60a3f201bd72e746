"""Inquiries: an execution waiting for a human (or system) response."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record, json_object
from db.models.enums import INQUIRY_STATUS, InquiryStatus


class Inquiry(Record, Base):
    """A question an execution asks, the schema of the answer, and the answer."""

    __tablename__ = "inquiry"
    # A workflow asks once per step: a retried activity finds the inquiry it wrote.
    __table_args__ = (UniqueConstraint("execution_id", "workflow_step"),)

    execution_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("attune.execution.id", ondelete="CASCADE"), index=True
    )
    prompt: Mapped[str] = mapped_column(Text)
    response_schema: Mapped[dict[str, Any]] = json_object()
    assignees: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'::text[]")
    )
    status: Mapped[InquiryStatus] = mapped_column(
        INQUIRY_STATUS,
        default=InquiryStatus.PENDING,
        server_default=text("'pending'"),
        index=True,
    )
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    responder: Mapped[str | None] = mapped_column(Text)
    timeout_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    # Which `ask` of a pack workflow wrote it (their order in the workflow); None otherwise.
    workflow_step: Mapped[int | None] = mapped_column(Integer)
