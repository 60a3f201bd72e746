"""Keys: a description and an expiry.

`key.expires_at` is when a key given a `ttl_seconds` stops existing: reads treat it as
absent from that instant, and workers delete such rows. The partial index serves that
clean-up without weighing on keys that never expire.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TIMESTAMP

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"


def upgrade() -> None:
    op.add_column(
        "key",
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        schema=SCHEMA,
    )
    op.add_column(
        "key", sa.Column("expires_at", TIMESTAMP(timezone=True), nullable=True), schema=SCHEMA
    )
    op.create_index(
        "ix_key_expires_at",
        "key",
        ["expires_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("expires_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_key_expires_at", "key", schema=SCHEMA)
    op.drop_column("key", "expires_at", schema=SCHEMA)
    op.drop_column("key", "description", schema=SCHEMA)
