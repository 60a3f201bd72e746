"""Idempotency keys: the first answer to a request sent with an `Idempotency-Key` header.

`idempotency_key` holds, per caller (`scope`) and key, a digest of the request and the
answer it got, for 24 hours: a retry under the key is answered from here and creates
nothing. Unique per (scope, key), so of two concurrent requests under one key only one
commits.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-16
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TIMESTAMP

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", TIMESTAMP(timezone=True), nullable=False),
        sa.Column(
            "created", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_key"),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_key_scope_key"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_idempotency_key_expires_at", "idempotency_key", ["expires_at"], schema=SCHEMA
    )
    op.execute(
        f'CREATE TRIGGER "idempotency_key_touch_updated" BEFORE UPDATE ON '
        f'{SCHEMA}."idempotency_key" FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.touch_updated()'
    )


def downgrade() -> None:
    op.drop_table("idempotency_key", schema=SCHEMA)
