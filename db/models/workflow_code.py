"""Workflow code: the Python files of a pack's workflows, one row per version, kept."""

from __future__ import annotations

from sqlalchemy import Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record


class WorkflowCode(Record, Base):
    """The Python files under a pack's `actions/` at one registration, by their digest.

    Workers load a pack workflow's code from here (not from the pack's folder), by the
    digest its execution started with: a run replays on the code it began on, on any
    worker, however often the pack is registered again since.
    """

    __tablename__ = "workflow_code"

    digest: Mapped[str] = mapped_column(Text, unique=True)
    pack_ref: Mapped[str] = mapped_column(Text)
    # `{"workflows/deploy.py": "<source>", ...}`, paths relative to actions/.
    files: Mapped[dict[str, str]] = mapped_column(JSONB)
