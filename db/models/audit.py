"""The audit trail: every change of access, every login attempt and every decrypt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, Text, func
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, json_object


class AuditRecord(Base):
    """One thing someone did, written in the transaction that did it; never updated."""

    __tablename__ = "audit"
    __table_args__ = (Index(None, "action"), Index(None, "actor"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    created: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    # None when no identity is known (a failed login names the login tried in `target`).
    actor: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = json_object()
    # The client's address, when the change came over HTTP.
    source: Mapped[str | None] = mapped_column(Text)
