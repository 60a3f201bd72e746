"""Workflows as code: their code by digest, children's steps, inquiries' steps, re-runs.

`workflow_code` keeps every version of a pack's workflow code, which workers load by the
digest an execution started with; `action.code_digest` names the current one.
`execution.parent_step` and `inquiry.workflow_step` number a workflow's `run_action` and
`ask` calls, unique per parent, so a retried activity finds the row it wrote.
`execution.rerun_of` links a re-run to the execution it repeats.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"


def upgrade() -> None:
    op.create_table(
        "workflow_code",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("pack_ref", sa.Text(), nullable=False),
        sa.Column("files", JSONB(), nullable=False),
        sa.Column(
            "created", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_code"),
        sa.UniqueConstraint("digest", name="uq_workflow_code_digest"),
        schema=SCHEMA,
    )
    op.execute(
        f'CREATE TRIGGER "workflow_code_touch_updated" BEFORE UPDATE ON '
        f'{SCHEMA}."workflow_code" FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.touch_updated()'
    )
    op.add_column("action", sa.Column("code_digest", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("execution", sa.Column("parent_step", sa.Integer(), nullable=True), schema=SCHEMA)
    op.add_column("execution", sa.Column("rerun_of", sa.BigInteger(), nullable=True), schema=SCHEMA)
    op.create_foreign_key(
        "fk_execution_rerun_of_execution",
        "execution",
        "execution",
        ["rerun_of"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_execution_rerun_of",
        "execution",
        ["rerun_of"],
        schema=SCHEMA,
        postgresql_where=sa.text("rerun_of IS NOT NULL"),
    )
    op.create_unique_constraint(
        "uq_execution_parent_id_parent_step",
        "execution",
        ["parent_id", "parent_step"],
        schema=SCHEMA,
    )
    op.add_column("inquiry", sa.Column("workflow_step", sa.Integer(), nullable=True), schema=SCHEMA)
    op.create_unique_constraint(
        "uq_inquiry_execution_id_workflow_step",
        "inquiry",
        ["execution_id", "workflow_step"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_constraint("uq_inquiry_execution_id_workflow_step", "inquiry", schema=SCHEMA)
    op.drop_column("inquiry", "workflow_step", schema=SCHEMA)
    op.drop_constraint("uq_execution_parent_id_parent_step", "execution", schema=SCHEMA)
    op.drop_index("ix_execution_rerun_of", "execution", schema=SCHEMA)
    op.drop_constraint("fk_execution_rerun_of_execution", "execution", schema=SCHEMA)
    op.drop_column("execution", "rerun_of", schema=SCHEMA)
    op.drop_column("execution", "parent_step", schema=SCHEMA)
    op.drop_column("action", "code_digest", schema=SCHEMA)
    op.drop_table("workflow_code", schema=SCHEMA)
