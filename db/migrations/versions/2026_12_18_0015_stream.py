"""The event stream: what happens, told by the database to every API process.

Triggers on execution (created, and each change of status), event and enforcement
(created), inquiry (created, and each change of status: answered, timed out, ...) and
sensor (created, and each change of the status its row says: starting, running,
failing, disabled)
send a JSON line on the NOTIFY channel `attune_stream` as their transaction commits: its
`id` (from the sequence `stream_event_id`), `kind`, `change`, `entity_id`, `at`, and what
filters and permissions need (the status, the action, trigger or rule ref, ...). API
processes LISTEN and serve it as `GET /api/v1/stream`. Nothing is stored.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-18
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"
CHANNEL = "attune_stream"
# Per table: what else an event of it carries (and the pack it belongs to, by its ref).
# NOTIFY takes at most 8000 bytes: each ref is cut at 1,000 characters (far beyond
# any a pack registers), an error at 200.
FIELDS = {
    "execution": "'status', NEW.status, 'action', left(NEW.action_ref, 1000), "
    "'rule', left(NEW.rule_ref, 1000), 'parent_id', NEW.parent_id",
    "event": "'trigger', left(NEW.trigger_ref, 1000)",
    "enforcement": "'status', NEW.status, 'rule', left(NEW.rule_ref, 1000), "
    "'trigger', left(NEW.trigger_ref, 1000), 'event_id', NEW.event_id",
    "inquiry": "'status', NEW.status, 'execution_id', NEW.execution_id, 'action', "
    f"(SELECT left(action_ref, 1000) FROM {SCHEMA}.execution WHERE id = NEW.execution_id)",
    "sensor": "'status', {NEW}, 'sensor', left(NEW.ref, 1000), 'error', left(NEW.last_error, 200)",
}
WITH_STATUS = ("execution", "inquiry")


def sensor_status(row: str) -> str:
    """The status a sensor row says, as `api.schemas.sensors.SensorStatus.of` reads it."""
    return (
        f"(CASE WHEN NOT {row}.enabled THEN 'disabled' WHEN {row}.last_error IS NOT NULL "
        f"THEN 'failing' WHEN {row}.last_poll_at IS NULL THEN 'starting' ELSE 'running' END)"
    )


def upgrade() -> None:
    op.execute(f"CREATE SEQUENCE {SCHEMA}.stream_event_id")
    for table, fields in FIELDS.items():
        fields = fields.replace("{NEW}", sensor_status("NEW"))
        op.execute(
            f"""
            CREATE FUNCTION {SCHEMA}.{table}_to_stream() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('{CHANNEL}', jsonb_build_object(
                    'id', nextval('{SCHEMA}.stream_event_id'),
                    'kind', '{table}',
                    'change', CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'status' END,
                    'entity_id', NEW.id,
                    'at', clock_timestamp(),
                    {fields}
                )::text);
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            f'CREATE TRIGGER "{table}_created_to_stream" AFTER INSERT ON {SCHEMA}."{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.{table}_to_stream()"
        )
        if table in WITH_STATUS:
            op.execute(
                f'CREATE TRIGGER "{table}_status_to_stream" AFTER UPDATE OF status ON '
                f'{SCHEMA}."{table}" FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) '
                f"EXECUTE FUNCTION {SCHEMA}.{table}_to_stream()"
            )
    # A sensor's status is read from three columns; only a change of it is told.
    op.execute(
        f'CREATE TRIGGER "sensor_status_to_stream" AFTER UPDATE OF enabled, last_error, '
        f'last_poll_at ON {SCHEMA}."sensor" FOR EACH ROW WHEN '
        f"({sensor_status('OLD')} IS DISTINCT FROM {sensor_status('NEW')}) "
        f"EXECUTE FUNCTION {SCHEMA}.sensor_to_stream()"
    )


def downgrade() -> None:
    for table in FIELDS:
        op.execute(f'DROP TRIGGER IF EXISTS "{table}_status_to_stream" ON {SCHEMA}."{table}"')
        op.execute(f'DROP TRIGGER "{table}_created_to_stream" ON {SCHEMA}."{table}"')
        op.execute(f"DROP FUNCTION {SCHEMA}.{table}_to_stream()")
    op.execute(f"DROP SEQUENCE {SCHEMA}.stream_event_id")
