"""Event sources: trigger parameters, sensors' state, idempotent events, Attune's own triggers.

`trigger.parameters_schema` is the JSON Schema of what a rule gives in
`trigger: {type, parameters}`, kept in `rule.trigger_parameters` (a timer's interval, a
cron expression). `sensor` gains the JSON `state` a polling sensor keeps between polls
(its cursor), what it last did (`last_poll_at`, `last_error`, `failing_since`) and which
lease holds it (`lease_token`: only that lease's writes count).
`event.dedupe_key` makes an event written twice by a retried firing (a timer, a sensor
or one of Attune's own triggers) the same event.

`system_event` is the outbox of Attune's own triggers: a row per execution that ended
(`core.execution_finished`) and per inquiry created (`core.inquiry_created`), written by
database triggers in the very transaction that ended or created it, so no path that
ends an execution can forget it; each worker's reconciler turns the rows into events.
Only while an enabled rule listens on the trigger: the hot path pays one indexed lookup.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"
TERMINAL = "('completed', 'failed', 'cancelled', 'timeout', 'abandoned')"
QUEUE_FUNCTION = f"""
CREATE FUNCTION {SCHEMA}.queue_system_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM {SCHEMA}.rule WHERE trigger_ref = TG_ARGV[0] AND enabled
    ) THEN
        INSERT INTO {SCHEMA}.system_event (trigger_ref, subject_id) VALUES (TG_ARGV[0], NEW.id);
    END IF;
    RETURN NULL;
END
$$
"""
TRIGGERS = {
    "execution_finished_on_update": (
        f"AFTER UPDATE OF status ON {SCHEMA}.execution FOR EACH ROW "
        f"WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status::text IN {TERMINAL})",
        "core.execution_finished",
    ),
    "execution_finished_on_insert": (
        f"AFTER INSERT ON {SCHEMA}.execution FOR EACH ROW WHEN (NEW.status::text IN {TERMINAL})",
        "core.execution_finished",
    ),
    "inquiry_created": (f"AFTER INSERT ON {SCHEMA}.inquiry FOR EACH ROW", "core.inquiry_created"),
}


def _json_object(name: str) -> sa.Column[object]:
    return sa.Column(name, JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False)


def upgrade() -> None:
    op.add_column("trigger", _json_object("parameters_schema"), schema=SCHEMA)
    op.add_column("rule", _json_object("trigger_parameters"), schema=SCHEMA)
    op.create_index("ix_rule_trigger_ref", "rule", ["trigger_ref"], schema=SCHEMA)
    op.add_column("sensor", _json_object("state"), schema=SCHEMA)
    for name in ("last_poll_at", "failing_since"):
        op.add_column(
            "sensor", sa.Column(name, TIMESTAMP(timezone=True), nullable=True), schema=SCHEMA
        )
    op.add_column("sensor", sa.Column("last_error", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("sensor", sa.Column("lease_token", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("event", sa.Column("dedupe_key", sa.Text(), nullable=True), schema=SCHEMA)
    op.create_unique_constraint("uq_event_dedupe_key", "event", ["dedupe_key"], schema=SCHEMA)
    op.create_table(
        "system_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("trigger_ref", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_system_event"),
        schema=SCHEMA,
    )
    op.execute(
        f'CREATE TRIGGER "system_event_touch_updated" BEFORE UPDATE ON '
        f'{SCHEMA}."system_event" FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.touch_updated()'
    )
    op.execute(QUEUE_FUNCTION)
    for name, (when, trigger_ref) in TRIGGERS.items():
        op.execute(
            f'CREATE TRIGGER "{name}" {when} '
            f"EXECUTE FUNCTION {SCHEMA}.queue_system_event('{trigger_ref}')"
        )


def downgrade() -> None:
    for name in TRIGGERS:
        table = "inquiry" if name == "inquiry_created" else "execution"
        op.execute(f'DROP TRIGGER "{name}" ON {SCHEMA}.{table}')
    op.execute(f"DROP FUNCTION {SCHEMA}.queue_system_event()")
    op.drop_table("system_event", schema=SCHEMA)
    op.drop_constraint("uq_event_dedupe_key", "event", schema=SCHEMA)
    op.drop_column("event", "dedupe_key", schema=SCHEMA)
    for name in ("lease_token", "last_error", "failing_since", "last_poll_at", "state"):
        op.drop_column("sensor", name, schema=SCHEMA)
    op.drop_index("ix_rule_trigger_ref", "rule", schema=SCHEMA)
    op.drop_column("rule", "trigger_parameters", schema=SCHEMA)
    op.drop_column("trigger", "parameters_schema", schema=SCHEMA)
