"""Keys: the key-value store, optionally encrypted, scoped to an owner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record
from db.models.enums import OWNER_TYPE, OwnerType


class Key(Record, Base):
    """A stored value, named within its owner (system, identity, pack, action or sensor)."""

    __tablename__ = "key"
    __table_args__ = (
        CheckConstraint("name <> ''", name="name_not_empty"),
        UniqueConstraint("owner_type", "owner", "name"),
        Index("ix_key_expires_at", "expires_at", postgresql_where=text("expires_at IS NOT NULL")),
    )

    name: Mapped[str] = mapped_column(Text)
    owner_type: Mapped[OwnerType] = mapped_column(
        OWNER_TYPE, default=OwnerType.SYSTEM, server_default=text("'system'")
    )
    owner: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    value: Mapped[Any] = mapped_column(JSONB(none_as_null=True))
    # When `encrypted`, `value` is a JSON string: `attune.keys.values.seal_value`'s ciphertext.
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    description: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    # Set from `ttl_seconds`: from this instant the key reads as absent (and is deleted).
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True), nullable=True)
