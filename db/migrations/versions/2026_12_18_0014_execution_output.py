"""Live output: an execution's stdout and stderr, whole lines at a time, as it runs.

The worker appends what the action wrote every fraction of a second; `GET
/executions/{id}/output` reads it after a cursor (the row's id), and the output stream
follows it. Rows go with their execution (ON DELETE CASCADE), so retention keeps them too.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-18
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TIMESTAMP

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"


def upgrade() -> None:
    op.create_table(
        "execution_output",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("execution_id", sa.BigInteger(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "stream IN ('stdout', 'stderr')", name=op.f("ck_execution_output_stream")
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            [f"{SCHEMA}.execution.id"],
            name="fk_execution_output_execution_id_execution",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_execution_output"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_execution_output_execution_id_id",
        "execution_output",
        ["execution_id", "id"],
        schema=SCHEMA,
    )
    op.execute(
        f'CREATE TRIGGER "execution_output_touch_updated" BEFORE UPDATE ON '
        f'{SCHEMA}."execution_output" FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.touch_updated()'
    )


def downgrade() -> None:
    op.drop_table("execution_output", schema=SCHEMA)
