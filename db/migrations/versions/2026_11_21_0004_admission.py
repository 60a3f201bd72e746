"""Admission columns: when an execution was granted its slot, and when it left the queue.

`execution.queue_position` (from 0002) orders an action's queue; `admitted_at` marks the
grant of a slot and `released_at` the moment the execution gave its slot (or its place in
the queue) back. The partial indexes keep the admission queries to the few rows that are
waiting or holding, however long the history grows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TIMESTAMP

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"


def upgrade() -> None:
    for column in ("admitted_at", "released_at"):
        op.add_column(
            "execution", sa.Column(column, TIMESTAMP(timezone=True), nullable=True), schema=SCHEMA
        )
    op.create_index(
        "ix_execution_waiting",
        "execution",
        ["action_id", "queue_position"],
        schema=SCHEMA,
        postgresql_where=sa.text(
            "queue_position IS NOT NULL AND admitted_at IS NULL AND released_at IS NULL"
        ),
    )
    op.create_index(
        "ix_execution_holding",
        "execution",
        ["action_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("admitted_at IS NOT NULL AND released_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_execution_holding", table_name="execution", schema=SCHEMA)
    op.drop_index("ix_execution_waiting", table_name="execution", schema=SCHEMA)
    op.drop_column("execution", "released_at", schema=SCHEMA)
    op.drop_column("execution", "admitted_at", schema=SCHEMA)
