"""An execution's output as it is written: whole lines of stdout or stderr, in order."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record

STREAMS = ("stdout", "stderr")


class ExecutionOutput(Record, Base):
    """One piece of an execution's output: one or more whole lines of one stream, as the
    worker read them while the action ran. Its id orders the pieces (and is the cursor of
    `GET /executions/{id}/output`). Bounded as the result is: per stream, the first
    1 MiB of the action's output."""

    __tablename__ = "execution_output"
    __table_args__ = (CheckConstraint("stream IN ('stdout', 'stderr')", name="stream"),)

    execution_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("attune.execution.id", ondelete="CASCADE")
    )
    stream: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)


# An execution's pieces, in order, after a cursor.
Index("ix_execution_output_execution_id_id", ExecutionOutput.execution_id, ExecutionOutput.id)
