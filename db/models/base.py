"""The declarative base every Attune model derives from, and the columns all tables share."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    Identity,
    MetaData,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column

from db.schema import metadata as attune_metadata


class Base(DeclarativeBase):
    """Declarative base bound to the `attune` schema metadata and its naming convention."""

    metadata: ClassVar[MetaData] = attune_metadata


class Record:
    """Mixin: identity primary key plus `created`/`updated` kept by the database.

    `updated` moves through the `<table>_touch_updated` trigger, so raw SQL updates move it
    too; eager defaults make the ORM read it back with RETURNING after its own updates.
    """

    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True, sort_order=-100)
    created: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True), server_default=func.now(), sort_order=100
    )
    updated: Mapped[datetime] = mapped_column(
        TIMESTAMP(timezone=True),
        server_default=func.now(),
        server_onupdate=FetchedValue(),
        sort_order=100,
    )


REF_PATTERN = r"^[a-z0-9_-]+\.[a-z0-9_.-]+$"
"""Pack-qualified refs (`<pack>.<name>`): lowercase, the pack part without dots."""


class PackContent(Record):
    """Mixin for content a pack ships (actions, triggers, sensors, rules, policies)."""

    ref: Mapped[str] = mapped_column(Text, unique=True, sort_order=-90)
    pack_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("attune.pack.id", ondelete="CASCADE"), sort_order=-89
    )
    pack_ref: Mapped[str] = mapped_column(Text, sort_order=-88)
    name: Mapped[str] = mapped_column(Text, sort_order=-87)
    label: Mapped[str | None] = mapped_column(Text, sort_order=-86)
    description: Mapped[str | None] = mapped_column(Text, sort_order=-85)


def pack_content_checks() -> tuple[CheckConstraint, CheckConstraint]:
    """`ref_format` and `ref_parts` (ref is `pack_ref.name`) for one pack-content table."""
    return (
        CheckConstraint(f"ref ~ '{REF_PATTERN}'", name="ref_format"),
        # The pack part has no dots, so a ref splits into pack and name one way only.
        CheckConstraint(
            "ref = pack_ref || '.' || name AND pack_ref ~ '^[a-z0-9_-]+$'", name="ref_parts"
        ),
    )


def json_object() -> MappedColumn[Any]:
    """A NOT NULL JSON column holding an object, `{}` by default.

    `none_as_null`: an ORM write of None means "no value" (the default applies) rather
    than a JSON `null` where an object belongs; repositories refuse None outright.
    """
    return mapped_column(JSONB(none_as_null=True), default=dict, server_default=text("'{}'::jsonb"))


def json_list() -> MappedColumn[Any]:
    """A NOT NULL JSON column holding a list, `[]` by default (None is refused, as above)."""
    return mapped_column(JSONB(none_as_null=True), default=list, server_default=text("'[]'::jsonb"))
