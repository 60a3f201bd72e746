"""Every Attune table, its enum types, and the triggers that keep `updated` current.

Hand-written to match `db.models`; `tests/db/test_schema.py` checks that they agree.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"


def _enum(name: str, *values: str) -> postgresql.ENUM:
    # Created and dropped explicitly below, never as a side effect of create_table.
    return postgresql.ENUM(*values, name=name, schema=SCHEMA, create_type=False)


EXECUTION_STATUS = _enum(
    "execution_status",
    "requested",
    "scheduling",
    "scheduled",
    "running",
    "completed",
    "failed",
    "canceling",
    "cancelled",
    "timeout",
    "abandoned",
)
ENFORCEMENT_STATUS = _enum("enforcement_status", "created", "processed", "disabled")
ENFORCEMENT_CONDITION = _enum("enforcement_condition", "any", "all")
INQUIRY_STATUS = _enum("inquiry_status", "pending", "responded", "timeout", "cancelled")
WORKER_TYPE = _enum("worker_type", "local", "remote", "container")
WORKER_STATUS = _enum("worker_status", "active", "inactive", "busy", "error")
RUNTIME_TYPE = _enum("runtime_type", "action", "sensor")
ARTIFACT_TYPE = _enum(
    "artifact_type",
    "file_binary",
    "file_datatable",
    "file_image",
    "file_text",
    "other",
    "progress",
    "url",
)
RETENTION_POLICY = _enum("retention_policy", "versions", "days", "hours", "minutes")
OWNER_TYPE = _enum("owner_type", "system", "identity", "pack", "action", "sensor")
NOTIFICATION_STATE = _enum("notification_state", "created", "queued", "processing", "error")

ENUMS = (
    EXECUTION_STATUS,
    ENFORCEMENT_STATUS,
    ENFORCEMENT_CONDITION,
    INQUIRY_STATUS,
    WORKER_TYPE,
    WORKER_STATUS,
    RUNTIME_TYPE,
    ARTIFACT_TYPE,
    RETENTION_POLICY,
    OWNER_TYPE,
    NOTIFICATION_STATE,
)

# In creation order: every table after the tables it refers to.
TABLES = (
    "pack",
    "runtime",
    "worker",
    "action",
    "trigger",
    "sensor",
    "rule",
    "policy",
    "event",
    "enforcement",
    "identity",
    "execution",
    "inquiry",
    "api_token",
    "permission_set",
    "permission_assignment",
    "key",
    "notification",
    "artifact",
    "queue_stats",
)

PACK_CONTENT_REF = r"^[a-z0-9_-]+\.[a-z0-9_.-]+$"
SEMVER = (
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
)

EMPTY_OBJECT = sa.text("'{}'::jsonb")
EMPTY_ARRAY = sa.text("'{}'::text[]")
TIMESTAMPTZ = postgresql.TIMESTAMP(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False)


def _timestamps() -> tuple[sa.Column[object], sa.Column[object]]:
    return (
        sa.Column("created", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
    )


def _jsonb(name: str, default: sa.TextClause | None = EMPTY_OBJECT) -> sa.Column[object]:
    """A JSONB column: NOT NULL with `default`, or nullable without one."""
    return sa.Column(name, postgresql.JSONB(), server_default=default, nullable=default is None)


def _flag(name: str, default: bool) -> sa.Column[bool]:
    return sa.Column(
        name, sa.Boolean(), server_default=sa.text("true" if default else "false"), nullable=False
    )


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{SCHEMA}.{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{'_'.join(columns)}"))


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns), schema=SCHEMA)


def _create_pack_content(table: str, *items: sa.schema.SchemaItem) -> None:
    """Actions, triggers, sensors, rules, policies: `ref` is `<pack_ref>.<name>`."""
    op.create_table(
        table,
        _id(),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("pack_id", sa.BigInteger(), nullable=False),
        sa.Column("pack_ref", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        *items,
        *_timestamps(),
        _pk(table),
        _unique(table, "ref"),
        _fk(table, "pack_id", "pack", "CASCADE"),
        _check(table, "ref_format", f"ref ~ '{PACK_CONTENT_REF}'"),
        _check(table, "ref_parts", "ref = pack_ref || '.' || name AND pack_ref ~ '^[a-z0-9_-]+$'"),
        schema=SCHEMA,
    )


def upgrade() -> None:
    bind = op.get_bind()
    for enum in ENUMS:
        enum.create(bind, checkfirst=False)

    op.create_table(
        "pack",
        _id(),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        _jsonb("config_schema"),
        _jsonb("config"),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default=EMPTY_ARRAY, nullable=False),
        *_timestamps(),
        _pk("pack"),
        _unique("pack", "ref"),
        _check("pack", "ref_format", "ref ~ '^[a-z0-9_-]+$'"),
        _check("pack", "version_semver", f"version ~ '{SEMVER}'"),
        schema=SCHEMA,
    )

    op.create_table(
        "runtime",
        _id(),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("runtime_type", RUNTIME_TYPE, nullable=False),
        sa.Column("pack_id", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        _jsonb("distributions"),
        _jsonb("installation"),
        *_timestamps(),
        _pk("runtime"),
        _unique("runtime", "ref"),
        _fk("runtime", "pack_id", "pack", "CASCADE"),
        _check("runtime", "ref_format", r"ref ~ '^[a-z0-9_-]+\.(action|sensor)\.[a-z0-9_-]+$'"),
        schema=SCHEMA,
    )

    op.create_table(
        "worker",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("worker_type", WORKER_TYPE, nullable=False),
        sa.Column("status", WORKER_STATUS, server_default=sa.text("'active'"), nullable=False),
        sa.Column("runtime_id", sa.BigInteger(), nullable=True),
        sa.Column("host", sa.Text(), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        _jsonb("capabilities"),
        _jsonb("meta"),
        sa.Column("last_heartbeat", TIMESTAMPTZ, nullable=True),
        *_timestamps(),
        _pk("worker"),
        _fk("worker", "runtime_id", "runtime", "SET NULL"),
        _check("worker", "port_range", "port BETWEEN 1 AND 65535"),
        schema=SCHEMA,
    )

    _create_pack_content(
        "action",
        sa.Column("runner_type", sa.Text(), nullable=False),
        sa.Column("entry_point", sa.Text(), server_default=sa.text("''"), nullable=False),
        _jsonb("parameters"),
        _jsonb("output_schema", None),
        sa.Column("timeout_seconds", sa.Integer(), nullable=True),
        _flag("enabled", True),
        _check("action", "timeout_positive", "timeout_seconds > 0"),
    )

    _create_pack_content(
        "trigger",
        sa.Column("trigger_type", sa.Text(), server_default=sa.text("'custom'"), nullable=False),
        _jsonb("payload_schema"),
        sa.Column("webhook_secret", sa.Text(), nullable=True),
        _flag("enabled", True),
        _check("trigger", "trigger_type", "trigger_type IN ('webhook', 'custom', 'timer')"),
    )

    _create_pack_content(
        "sensor",
        sa.Column("entry_point", sa.Text(), nullable=False),
        sa.Column("runtime_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "trigger_refs", postgresql.ARRAY(sa.Text()), server_default=EMPTY_ARRAY, nullable=False
        ),
        _jsonb("config"),
        sa.Column("poll_interval_seconds", sa.Integer(), nullable=True),
        _flag("enabled", True),
        _fk("sensor", "runtime_id", "runtime", "SET NULL"),
        _check("sensor", "poll_interval_positive", "poll_interval_seconds > 0"),
    )

    _create_pack_content(
        "rule",
        sa.Column("trigger_id", sa.BigInteger(), nullable=True),
        sa.Column("trigger_ref", sa.Text(), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=True),
        sa.Column("action_ref", sa.Text(), nullable=False),
        _jsonb("criteria"),
        _jsonb("action_parameters"),
        _flag("enabled", True),
        _fk("rule", "trigger_id", "trigger", "SET NULL"),
        _fk("rule", "action_id", "action", "SET NULL"),
    )

    _create_pack_content(
        "policy",
        sa.Column("action_id", sa.BigInteger(), nullable=True),
        sa.Column("action_ref", sa.Text(), nullable=False),
        sa.Column("concurrency_limit", sa.Integer(), nullable=True),
        sa.Column(
            "max_queue_length", sa.Integer(), server_default=sa.text("10000"), nullable=False
        ),
        sa.Column("on_full", sa.Text(), server_default=sa.text("'reject'"), nullable=False),
        sa.Column("method", sa.Text(), server_default=sa.text("'enqueue'"), nullable=False),
        sa.Column("rate_limit_per_second", postgresql.DOUBLE_PRECISION(), nullable=True),
        _flag("enabled", True),
        _fk("policy", "action_id", "action", "SET NULL"),
        _check("policy", "concurrency_limit_positive", "concurrency_limit >= 1"),
        _check("policy", "max_queue_length_nonnegative", "max_queue_length >= 0"),
        _check("policy", "on_full", "on_full IN ('reject')"),
        _check("policy", "method", "method IN ('enqueue', 'cancel')"),
        _check(
            "policy",
            "rate_limit_positive",
            "rate_limit_per_second > 0 AND rate_limit_per_second < 'Infinity'",
        ),
    )

    op.create_table(
        "event",
        _id(),
        sa.Column("trigger_id", sa.BigInteger(), nullable=True),
        sa.Column("trigger_ref", sa.Text(), nullable=False),
        _jsonb("payload"),
        sa.Column("source_sensor_id", sa.BigInteger(), nullable=True),
        *_timestamps(),
        _pk("event"),
        _fk("event", "trigger_id", "trigger", "SET NULL"),
        _fk("event", "source_sensor_id", "sensor", "SET NULL"),
        schema=SCHEMA,
    )
    _index("event", "trigger_id")
    _index("event", "trigger_ref")

    op.create_table(
        "enforcement",
        _id(),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column("rule_ref", sa.Text(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("trigger_ref", sa.Text(), nullable=False),
        sa.Column(
            "status", ENFORCEMENT_STATUS, server_default=sa.text("'created'"), nullable=False
        ),
        sa.Column(
            "condition", ENFORCEMENT_CONDITION, server_default=sa.text("'all'"), nullable=False
        ),
        _jsonb("conditions"),
        _jsonb("payload"),
        _jsonb("parameters", None),
        sa.Column("error", sa.Text(), nullable=True),
        *_timestamps(),
        _pk("enforcement"),
        _fk("enforcement", "rule_id", "rule", "SET NULL"),
        _fk("enforcement", "event_id", "event", "SET NULL"),
        schema=SCHEMA,
    )
    _index("enforcement", "rule_id")
    _index("enforcement", "status")
    _index("enforcement", "event_id")

    op.create_table(
        "identity",
        _id(),
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        _jsonb("attributes"),
        _flag("frozen", False),
        *_timestamps(),
        _pk("identity"),
        _unique("identity", "login"),
        _check("identity", "login_not_empty", "login <> ''"),
        schema=SCHEMA,
    )

    op.create_table(
        "execution",
        _id(),
        sa.Column("action_id", sa.BigInteger(), nullable=True),
        sa.Column("action_ref", sa.Text(), nullable=False),
        _jsonb("parameters"),
        sa.Column(
            "status", EXECUTION_STATUS, server_default=sa.text("'requested'"), nullable=False
        ),
        _jsonb("result", None),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("enforcement_id", sa.BigInteger(), nullable=True),
        sa.Column("executor_id", sa.BigInteger(), nullable=True),
        sa.Column("workflow_id", sa.Text(), nullable=True),
        sa.Column("rule_ref", sa.Text(), nullable=True),
        sa.Column("trigger_ref", sa.Text(), nullable=True),
        sa.Column("queue_position", sa.BigInteger(), nullable=True),
        sa.Column("scheduled_at", TIMESTAMPTZ, nullable=True),
        sa.Column("started_at", TIMESTAMPTZ, nullable=True),
        sa.Column("ended_at", TIMESTAMPTZ, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        *_timestamps(),
        _pk("execution"),
        _unique("execution", "workflow_id"),
        _fk("execution", "action_id", "action", "SET NULL"),
        _fk("execution", "parent_id", "execution", "SET NULL"),
        _fk("execution", "enforcement_id", "enforcement", "SET NULL"),
        _fk("execution", "executor_id", "identity", "SET NULL"),
        schema=SCHEMA,
    )
    _index("execution", "status")
    _index("execution", "action_id")
    _index("execution", "action_ref")
    _index("execution", "enforcement_id")
    _index("execution", "parent_id")
    # Newest-first listing: ORDER BY created DESC, id DESC.
    op.create_index(
        op.f("ix_execution_created_id_desc"),
        "execution",
        [sa.text("created DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )

    op.create_table(
        "inquiry",
        _id(),
        sa.Column("execution_id", sa.BigInteger(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        _jsonb("response_schema"),
        sa.Column(
            "assignees", postgresql.ARRAY(sa.Text()), server_default=EMPTY_ARRAY, nullable=False
        ),
        sa.Column("status", INQUIRY_STATUS, server_default=sa.text("'pending'"), nullable=False),
        _jsonb("response", None),
        sa.Column("responder", sa.Text(), nullable=True),
        sa.Column("timeout_at", TIMESTAMPTZ, nullable=True),
        sa.Column("responded_at", TIMESTAMPTZ, nullable=True),
        *_timestamps(),
        _pk("inquiry"),
        _fk("inquiry", "execution_id", "execution", "CASCADE"),
        schema=SCHEMA,
    )
    _index("inquiry", "status")
    _index("inquiry", "execution_id")

    op.create_table(
        "api_token",
        _id(),
        sa.Column("identity_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("expires_at", TIMESTAMPTZ, nullable=True),
        sa.Column("last_used_at", TIMESTAMPTZ, nullable=True),
        _flag("revoked", False),
        *_timestamps(),
        _pk("api_token"),
        _unique("api_token", "token_hash"),
        _fk("api_token", "identity_id", "identity", "CASCADE"),
        schema=SCHEMA,
    )

    op.create_table(
        "permission_set",
        _id(),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        _jsonb("grants", sa.text("'[]'::jsonb")),
        *_timestamps(),
        _pk("permission_set"),
        _unique("permission_set", "ref"),
        _check("permission_set", "ref_format", "ref ~ '^[a-z0-9_.-]+$'"),
        schema=SCHEMA,
    )

    op.create_table(
        "permission_assignment",
        _id(),
        sa.Column("identity_id", sa.BigInteger(), nullable=False),
        sa.Column("permission_set_id", sa.BigInteger(), nullable=False),
        *_timestamps(),
        _pk("permission_assignment"),
        _unique("permission_assignment", "identity_id", "permission_set_id"),
        _fk("permission_assignment", "identity_id", "identity", "CASCADE"),
        _fk("permission_assignment", "permission_set_id", "permission_set", "CASCADE"),
        schema=SCHEMA,
    )

    op.create_table(
        "key",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("owner_type", OWNER_TYPE, server_default=sa.text("'system'"), nullable=False),
        sa.Column("owner", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("value", postgresql.JSONB(), nullable=False),
        _flag("encrypted", False),
        *_timestamps(),
        _pk("key"),
        _unique("key", "owner_type", "owner", "name"),
        _check("key", "name_not_empty", "name <> ''"),
        schema=SCHEMA,
    )

    op.create_table(
        "notification",
        _id(),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("activity", sa.Text(), nullable=False),
        sa.Column("state", NOTIFICATION_STATE, server_default=sa.text("'created'"), nullable=False),
        _jsonb("content", None),
        *_timestamps(),
        _pk("notification"),
        schema=SCHEMA,
    )
    _index("notification", "state")

    op.create_table(
        "artifact",
        _id(),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("scope", OWNER_TYPE, server_default=sa.text("'system'"), nullable=False),
        sa.Column("owner", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("artifact_type", ARTIFACT_TYPE, nullable=False),
        sa.Column(
            "retention_policy",
            RETENTION_POLICY,
            server_default=sa.text("'versions'"),
            nullable=False,
        ),
        sa.Column("retention_limit", sa.Integer(), server_default=sa.text("1"), nullable=False),
        _jsonb("data", None),
        sa.Column("execution_id", sa.BigInteger(), nullable=True),
        *_timestamps(),
        _pk("artifact"),
        _fk("artifact", "execution_id", "execution", "SET NULL"),
        schema=SCHEMA,
    )
    _index("artifact", "scope", "owner")
    _index("artifact", "artifact_type")
    _index("artifact", "retention_policy")

    op.create_table(
        "queue_stats",
        _id(),
        sa.Column("action_id", sa.BigInteger(), nullable=False),
        sa.Column("queue_length", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("active_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_concurrent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("oldest_enqueued_at", TIMESTAMPTZ, nullable=True),
        sa.Column("total_enqueued", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_completed", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        *_timestamps(),
        _pk("queue_stats"),
        _unique("queue_stats", "action_id"),
        _fk("queue_stats", "action_id", "action", "CASCADE"),
        _check("queue_stats", "queue_length_nonnegative", "queue_length >= 0"),
        _check("queue_stats", "active_count_nonnegative", "active_count >= 0"),
        _check("queue_stats", "max_concurrent_nonnegative", "max_concurrent >= 0"),
        schema=SCHEMA,
    )

    for table in TABLES:
        op.execute(
            f'CREATE TRIGGER "{table}_touch_updated" BEFORE UPDATE ON {SCHEMA}."{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.touch_updated()"
        )


def downgrade() -> None:
    # Dropping a table drops its trigger and indexes with it.
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
    bind = op.get_bind()
    for enum in reversed(ENUMS):
        enum.drop(bind, checkfirst=False)
