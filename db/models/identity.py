"""Identities, their API tokens, and the permission sets granted to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record, json_list, json_object


class Identity(Record, Base):
    """A user or service account that can log in and own things."""

    __tablename__ = "identity"
    __table_args__ = (CheckConstraint("login <> ''", name="login_not_empty"),)

    login: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = json_object()
    frozen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


TOKEN_KINDS = ("api", "session")
"""`api`: made for automation, lives until revoked or its expiry; `session`: made by a
password login, always with an expiry, revoked by logging out."""


class ApiToken(Record, Base):
    """A bearer token of an identity, stored only as a hash."""

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint("kind IN ('api', 'session')", name="kind"),)

    identity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("attune.identity.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    label: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    kind: Mapped[str] = mapped_column(Text, default="api", server_default=text("'api'"))


class PermissionSet(Record, Base):
    """A named list of grants that can be assigned to identities."""

    __tablename__ = "permission_set"
    __table_args__ = (CheckConstraint("ref ~ '^[a-z0-9_.-]+$'", name="ref_format"),)

    ref: Mapped[str] = mapped_column(Text, unique=True)
    label: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    grants: Mapped[list[Any]] = json_list()
    # Seeded by migration 0009 from `attune.auth.permissions.BUILT_IN`; never changed by hand.
    builtin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class PermissionAssignment(Record, Base):
    """A permission set granted to an identity."""

    __tablename__ = "permission_assignment"
    __table_args__ = (UniqueConstraint("identity_id", "permission_set_id"),)

    identity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("attune.identity.id", ondelete="CASCADE")
    )
    permission_set_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("attune.permission_set.id", ondelete="CASCADE")
    )
