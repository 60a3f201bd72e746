"""Artifacts: files, progress and links produced by executions, with retention."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record
from db.models.enums import (
    ARTIFACT_TYPE,
    OWNER_TYPE,
    RETENTION_POLICY,
    ArtifactType,
    OwnerType,
    RetentionPolicy,
)


class Artifact(Record, Base):
    """An artifact (a ref may have several versions), kept per its retention policy."""

    __tablename__ = "artifact"
    __table_args__ = (Index(None, "scope", "owner"),)

    ref: Mapped[str] = mapped_column(Text)
    scope: Mapped[OwnerType] = mapped_column(
        OWNER_TYPE, default=OwnerType.SYSTEM, server_default=text("'system'")
    )
    owner: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    artifact_type: Mapped[ArtifactType] = mapped_column(ARTIFACT_TYPE, index=True)
    retention_policy: Mapped[RetentionPolicy] = mapped_column(
        RETENTION_POLICY,
        default=RetentionPolicy.VERSIONS,
        server_default=text("'versions'"),
        index=True,
    )
    retention_limit: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    data: Mapped[Any | None] = mapped_column(JSONB)
    execution_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.execution.id", ondelete="SET NULL")
    )
