"""Idempotency keys: the first answer to a request sent with an `Idempotency-Key`, so a
retry of it gets that answer again instead of doing the work twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, SmallInteger, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record


class IdempotencyKey(Record, Base):
    """One key of one caller: a digest of the request it came with, and the answer sent.

    `scope` is whose key it is (`identity:<id>`, `webhook:<trigger id>`): keys of one
    caller never meet another's. Unique per scope and key, which is what lets exactly one
    of two concurrent requests under a key commit. The row is written in the transaction
    that writes what the request creates, so neither exists without the other.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    scope: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    # SHA-256 of the method, path, query and body: a different request under the key is a 409.
    request_hash: Mapped[bytes] = mapped_column(LargeBinary)
    status_code: Mapped[int] = mapped_column(SmallInteger)
    # The body as sent, byte for byte (JSONB would reorder its keys).
    response: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))


# Expired keys are deleted oldest first, a few at each new key.
Index("ix_idempotency_key_expires_at", IdempotencyKey.expires_at)
