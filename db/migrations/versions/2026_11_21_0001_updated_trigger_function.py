"""The function that keeps every table's `updated` column current.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A trigger, not an ORM hook: rows updated by raw SQL (heartbeats, bulk updates) move too.
    op.execute(
        """
        CREATE FUNCTION attune.touch_updated() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            NEW.updated := clock_timestamp();
            RETURN NEW;
        END;
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION attune.touch_updated()")
