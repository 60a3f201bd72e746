"""Runtimes: the environments actions and sensors run in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record, json_object
from db.models.enums import RUNTIME_TYPE, RuntimeType


class Runtime(Record, Base):
    """A runtime (`<pack>.<action|sensor>.<name>`) and how to install it."""

    __tablename__ = "runtime"
    __table_args__ = (
        CheckConstraint(r"ref ~ '^[a-z0-9_-]+\.(action|sensor)\.[a-z0-9_-]+$'", name="ref_format"),
    )

    ref: Mapped[str] = mapped_column(Text, unique=True)
    runtime_type: Mapped[RuntimeType] = mapped_column(RUNTIME_TYPE)
    pack_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.pack.id", ondelete="CASCADE")
    )
    description: Mapped[str | None] = mapped_column(Text)
    distributions: Mapped[dict[str, Any]] = json_object()
    installation: Mapped[dict[str, Any]] = json_object()
