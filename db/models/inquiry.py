"""Inquiries: an execution waiting for a human (or system) response."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record, json_object
from db.models.enums import INQUIRY_STATUS, InquiryStatus


class Inquiry(Record, Base):
    """A question an execution asks, the schema of the answer, and the answer."""

    __tablename__ = "inquiry"

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
