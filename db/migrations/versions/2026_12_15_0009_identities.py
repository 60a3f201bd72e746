"""Identities and credentials: session tokens, built-in permission sets, audit, login failures.

`api_token.kind` tells a password login's session token (`session`, always expiring)
from a token made for automation (`api`). `permission_set.builtin` marks the sets seeded
here from `attune.auth.permissions.BUILT_IN` (`admin`, `operator`, `observer`), which no
one may change or delete; the bootstrap identity `admin`, where it exists already, is
given `admin`. `audit` is the trail of every change of access, login attempt and decrypt;
`login_failure` holds the failed logins of the last minutes, so every API process slows
down the same guesser.

The seeded grants are those of this revision's code; a later change of the built-in sets
needs a migration of its own.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-15
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

from attune.auth.permissions import BUILT_IN

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"
ADMIN_LOGIN = "admin"


def _created() -> sa.Column[object]:
    return sa.Column(
        "created", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "api_token",
        sa.Column("kind", sa.Text(), server_default=sa.text("'api'"), nullable=False),
        schema=SCHEMA,
    )
    op.create_check_constraint("kind", "api_token", "kind IN ('api', 'session')", schema=SCHEMA)
    op.add_column(
        "permission_set",
        sa.Column("builtin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema=SCHEMA,
    )
    _seed_built_in_sets()
    op.create_table(
        "audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _created(),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("details", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
        schema=SCHEMA,
    )
    op.create_index("ix_audit_action", "audit", ["action"], schema=SCHEMA)
    op.create_index("ix_audit_actor", "audit", ["actor"], schema=SCHEMA)
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        _created(),
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_login_failure"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_login_failure_login_created", "login_failure", ["login", "created"], schema=SCHEMA
    )
    op.create_index(
        "ix_login_failure_source_created", "login_failure", ["source", "created"], schema=SCHEMA
    )


def _seed_built_in_sets() -> None:
    upsert = sa.text(
        f"""
        INSERT INTO {SCHEMA}.permission_set (ref, label, description, grants, builtin)
        VALUES (:ref, :label, :description, CAST(:grants AS jsonb), true)
        ON CONFLICT (ref) DO UPDATE SET
            label = EXCLUDED.label, description = EXCLUDED.description,
            grants = EXCLUDED.grants, builtin = true
        """
    )
    for ref, (description, grants) in BUILT_IN.items():
        op.get_bind().execute(
            upsert,
            {
                "ref": ref,
                "label": ref,
                "description": description,
                "grants": json.dumps([grant.to_json() for grant in grants]),
            },
        )
    # The bootstrap admin of an installation made before this revision keeps its power.
    op.get_bind().execute(
        sa.text(
            f"""
            INSERT INTO {SCHEMA}.permission_assignment (identity_id, permission_set_id)
            SELECT identity.id, permission_set.id
            FROM {SCHEMA}.identity, {SCHEMA}.permission_set
            WHERE identity.login = :login AND permission_set.ref = 'admin'
            ON CONFLICT DO NOTHING
            """
        ),
        {"login": ADMIN_LOGIN},
    )


def downgrade() -> None:
    op.drop_table("login_failure", schema=SCHEMA)
    op.drop_table("audit", schema=SCHEMA)
    op.execute(f"DELETE FROM {SCHEMA}.permission_set WHERE builtin")
    op.drop_column("permission_set", "builtin", schema=SCHEMA)
    op.drop_constraint("ck_api_token_kind", "api_token", schema=SCHEMA)
    op.drop_column("api_token", "kind", schema=SCHEMA)
