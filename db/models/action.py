"""Actions: the units of work rules and users run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, PackContent, json_object, pack_content_checks


class Action(PackContent, Base):
    """An action: a runner, its entry point and the JSON Schema of its parameters."""

    __tablename__ = "action"
    __table_args__ = (
        *pack_content_checks(),
        CheckConstraint("timeout_seconds > 0", name="timeout_positive"),
    )

    runner_type: Mapped[str] = mapped_column(Text)
    entry_point: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    parameters: Mapped[dict[str, Any]] = json_object()
    output_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # A python-workflow action's code: the digest of its pack's Python files in
    # `workflow_code`, so every version a run started on stays runnable. None otherwise.
    code_digest: Mapped[str | None] = mapped_column(Text)
