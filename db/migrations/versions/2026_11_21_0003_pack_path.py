"""`pack.path`: the folder a pack was registered from, where workers read its scripts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"


def upgrade() -> None:
    # Nullable: packs created through the API, or before this revision, have no folder.
    op.add_column("pack", sa.Column("path", sa.Text(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("pack", "path", schema=SCHEMA)
