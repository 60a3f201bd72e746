"""Workers record themselves: pid, task queues, version, heartbeat interval, when stopped.

Each `attune worker` process inserts a row as it starts (its name is its Temporal identity,
`pid@host`, as the Web UI shows it), stamps `last_heartbeat` every few seconds, and marks
itself `inactive` with `stopped` on a clean stop. A row still `active` but silent for
three of its own heartbeat intervals is shown as lost.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-17
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"


def upgrade() -> None:
    op.add_column("worker", sa.Column("pid", sa.Integer()), schema=SCHEMA)
    op.add_column(
        "worker",
        sa.Column(
            "task_queues", ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False
        ),
        schema=SCHEMA,
    )
    op.add_column("worker", sa.Column("version", sa.Text()), schema=SCHEMA)
    op.add_column("worker", sa.Column("heartbeat_seconds", sa.Float()), schema=SCHEMA)
    op.add_column("worker", sa.Column("stopped", TIMESTAMP(timezone=True)), schema=SCHEMA)
    op.create_index("ix_worker_status", "worker", ["status"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_worker_status", "worker", schema=SCHEMA)
    for column in ("stopped", "heartbeat_seconds", "version", "task_queues", "pid"):
        op.drop_column("worker", column, schema=SCHEMA)
