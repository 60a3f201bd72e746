"""Packs: the unit Attune content is installed and versioned in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record, json_object

SEMVER_PATTERN = (
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
)


class Pack(Record, Base):
    """An installed pack of actions, triggers, sensors, rules and policies."""

    __tablename__ = "pack"
    __table_args__ = (
        CheckConstraint("ref ~ '^[a-z0-9_-]+$'", name="ref_format"),
        CheckConstraint(f"version ~ '{SEMVER_PATTERN}'", name="version_semver"),
    )

    ref: Mapped[str] = mapped_column(Text, unique=True)
    label: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    config_schema: Mapped[dict[str, Any]] = json_object()
    config: Mapped[dict[str, Any]] = json_object()
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'::text[]")
    )
    # The absolute folder the pack was registered from; workers read its scripts there.
    path: Mapped[str | None] = mapped_column(Text)
