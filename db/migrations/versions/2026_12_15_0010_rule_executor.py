"""Rules run as the identity that registered them.

`rule.executor_id` is who registered the rule's pack: its executions are recorded with
that executor, and their execution tokens hold no more than its grants. A rule
registered before (or by the bootstrap) has none, and runs as nobody in particular.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"


def upgrade() -> None:
    op.add_column("rule", sa.Column("executor_id", sa.BigInteger(), nullable=True), schema=SCHEMA)
    op.create_foreign_key(
        "fk_rule_executor_id_identity",
        "rule",
        "identity",
        ["executor_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint("fk_rule_executor_id_identity", "rule", schema=SCHEMA)
    op.drop_column("rule", "executor_id", schema=SCHEMA)
