"""Executions: one run of an action, possibly a child of a workflow execution."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record, json_object
from db.models.enums import EXECUTION_STATUS, ExecutionStatus


class Execution(Record, Base):
    """An action execution: parameters, status, result and where it came from."""

    __tablename__ = "execution"
    __table_args__ = (UniqueConstraint("parent_id", "parent_step"),)

    action_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.action.id", ondelete="SET NULL"), index=True
    )
    action_ref: Mapped[str] = mapped_column(Text)
    # Secret parameters show as "********" here; their values are in `secret_parameters`.
    parameters: Mapped[dict[str, Any]] = json_object()
    # The secret parameters' values as one AES-256-GCM ciphertext (see
    # attune.engine.secret_parameters), bound to this row's id; None when there are none.
    secret_parameters: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ExecutionStatus] = mapped_column(
        EXECUTION_STATUS,
        default=ExecutionStatus.REQUESTED,
        server_default=text("'requested'"),
    )
    result: Mapped[Any | None] = mapped_column(JSONB)
    parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.execution.id", ondelete="SET NULL"), index=True
    )
    # Which `run_action` of the parent workflow asked for it (their order in the
    # workflow), so a retried request finds the child it wrote; None outside workflows.
    parent_step: Mapped[int | None] = mapped_column(Integer)
    # The execution this one runs again (POST /executions/{id}/re-run).
    rerun_of: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.execution.id", ondelete="SET NULL")
    )
    enforcement_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.enforcement.id", ondelete="SET NULL"), index=True
    )
    executor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.identity.id", ondelete="SET NULL")
    )
    workflow_id: Mapped[str | None] = mapped_column(Text, unique=True)
    rule_ref: Mapped[str | None] = mapped_column(Text)
    trigger_ref: Mapped[str | None] = mapped_column(Text)
    # FIFO admission (policies with a concurrency limit): the place in the action's queue,
    # when a slot was granted, and when the slot (or the place in the queue) was given back.
    queue_position: Mapped[int | None] = mapped_column(BigInteger)
    admitted_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    scheduled_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


# Oldest (or newest) first by creation: the retention purge walks it.
Index("ix_execution_created_id_desc", Execution.created.desc(), Execution.id.desc())
# Listing is newest first by id; with filters, read in that order from an index rather than
# scanning every row (an action with no failures) or sorting every match. Leading columns
# serve lookups by them as well.
Index("ix_execution_status_id", Execution.status, Execution.id)
Index("ix_execution_action_ref_status_id", Execution.action_ref, Execution.status, Execution.id)
for _column in (Execution.rule_ref, Execution.trigger_ref):
    Index(
        f"ix_execution_{_column.key}_id",
        _column,
        Execution.id,
        postgresql_where=_column.is_not(None),
    )
# Migration 0013 also keeps statistics of action_ref and status together, so that the
# planner sees an action that never failed (SQLAlchemy has no model of them).
# Admission reads only the rows waiting in, or holding a slot of, an action's queue.
Index(
    "ix_execution_waiting",
    Execution.action_id,
    Execution.queue_position,
    postgresql_where=text(
        "queue_position IS NOT NULL AND admitted_at IS NULL AND released_at IS NULL"
    ),
)
# Re-runs are few: index only them, for `ON DELETE SET NULL` and finding an original's.
Index("ix_execution_rerun_of", Execution.rerun_of, postgresql_where=text("rerun_of IS NOT NULL"))
Index(
    "ix_execution_holding",
    Execution.action_id,
    postgresql_where=text("admitted_at IS NOT NULL AND released_at IS NULL"),
)
