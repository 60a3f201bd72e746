"""Artifacts: files, progress and links produced by executions, with retention."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, Text
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

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
    """An artifact (a ref may have several versions), kept per its retention policy.

    Its bytes, if it has any, are in `content` (small ones) or in the artifact store's file
    `stored_file` (`attune.artifacts.store`); `content` is loaded only when asked for.
    """

    __tablename__ = "artifact"
    __table_args__ = (
        Index(None, "scope", "owner"),
        CheckConstraint("size_bytes >= 0", name="size_bytes"),
    )

    ref: Mapped[str] = mapped_column(Text)
    scope: Mapped[OwnerType] = mapped_column(
        OWNER_TYPE, default=OwnerType.SYSTEM, server_default=sql_text("'system'")
    )
    owner: Mapped[str] = mapped_column(Text, default="", server_default=sql_text("''"))
    artifact_type: Mapped[ArtifactType] = mapped_column(ARTIFACT_TYPE, index=True)
    retention_policy: Mapped[RetentionPolicy] = mapped_column(
        RETENTION_POLICY,
        default=RetentionPolicy.VERSIONS,
        server_default=sql_text("'versions'"),
        index=True,
    )
    retention_limit: Mapped[int] = mapped_column(Integer, default=1, server_default=sql_text("1"))
    data: Mapped[Any | None] = mapped_column(JSONB)
    execution_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.execution.id", ondelete="SET NULL")
    )
    # The pack whose permissions reach it (its execution's, kept when that is deleted).
    pack_ref: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default=sql_text("0"))
    sha256: Mapped[str | None] = mapped_column(Text)
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    stored_file: Mapped[str | None] = mapped_column(Text)


# Versions of a ref, newest first; an execution's artifacts; who holds a stored file.
Index("ix_artifact_ref_id", Artifact.ref, Artifact.id)
Index(
    "ix_artifact_execution_id_id",
    Artifact.execution_id,
    Artifact.id,
    postgresql_where=Artifact.execution_id.is_not(None),
)
Index(
    "ix_artifact_stored_file",
    Artifact.stored_file,
    postgresql_where=Artifact.stored_file.is_not(None),
)
