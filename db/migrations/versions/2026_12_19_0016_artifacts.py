"""Artifacts that hold content: what an execution produced, its bytes, and the stream.

An artifact row now says which pack its access follows (`pack_ref`, kept after its
execution is deleted), its file name, content type, size and SHA-256, and where its bytes
are: in `content` (small ones) or in a file of the artifact store (`stored_file`, a name
under ATTUNE_ARTIFACT_STORE_DIR). Versions of a ref are read newest first by (ref, id),
an execution's artifacts by (execution_id, id). Creating an artifact, and each change of
its data (a progress artifact's percent), is told on the event stream (kind `artifact`).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-19
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"
CHANNEL = "attune_stream"
# NOTIFY takes at most 8000 bytes: refs are cut at 1,000 characters, and only a small
# progress value rides along (a client reads the rest from the API).
PROGRESS_NOTIFY_BYTES = 2000


def upgrade() -> None:
    op.add_column("artifact", sa.Column("pack_ref", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("artifact", sa.Column("name", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("artifact", sa.Column("content_type", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column(
        "artifact",
        sa.Column("size_bytes", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        schema=SCHEMA,
    )
    op.add_column("artifact", sa.Column("sha256", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("artifact", sa.Column("content", sa.LargeBinary(), nullable=True), schema=SCHEMA)
    op.add_column("artifact", sa.Column("stored_file", sa.Text(), nullable=True), schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_artifact_size_bytes"), "artifact", "size_bytes >= 0", schema=SCHEMA
    )
    op.create_index("ix_artifact_ref_id", "artifact", ["ref", "id"], schema=SCHEMA)
    op.create_index(
        "ix_artifact_execution_id_id",
        "artifact",
        ["execution_id", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("execution_id IS NOT NULL"),
    )
    op.create_index(
        "ix_artifact_stored_file",
        "artifact",
        ["stored_file"],
        schema=SCHEMA,
        postgresql_where=sa.text("stored_file IS NOT NULL"),
    )
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.artifact_to_stream() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', jsonb_build_object(
                'id', nextval('{SCHEMA}.stream_event_id'),
                'kind', 'artifact',
                'change', CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END,
                'entity_id', NEW.id,
                'at', clock_timestamp(),
                'ref', left(NEW.ref, 1000),
                'type', NEW.artifact_type,
                'pack', left(NEW.pack_ref, 1000),
                'execution_id', NEW.execution_id,
                'data', CASE WHEN NEW.artifact_type = 'progress'
                    AND octet_length(NEW.data::text) <= {PROGRESS_NOTIFY_BYTES}
                    THEN NEW.data END
            )::text);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f'CREATE TRIGGER "artifact_created_to_stream" AFTER INSERT ON {SCHEMA}."artifact" '
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.artifact_to_stream()"
    )
    op.execute(
        f'CREATE TRIGGER "artifact_data_to_stream" AFTER UPDATE OF data ON {SCHEMA}."artifact" '
        "FOR EACH ROW WHEN (OLD.data IS DISTINCT FROM NEW.data) "
        f"EXECUTE FUNCTION {SCHEMA}.artifact_to_stream()"
    )


def downgrade() -> None:
    op.execute(f'DROP TRIGGER "artifact_data_to_stream" ON {SCHEMA}."artifact"')
    op.execute(f'DROP TRIGGER "artifact_created_to_stream" ON {SCHEMA}."artifact"')
    op.execute(f"DROP FUNCTION {SCHEMA}.artifact_to_stream()")
    op.drop_index("ix_artifact_stored_file", table_name="artifact", schema=SCHEMA)
    op.drop_index("ix_artifact_execution_id_id", table_name="artifact", schema=SCHEMA)
    op.drop_index("ix_artifact_ref_id", table_name="artifact", schema=SCHEMA)
    op.drop_constraint("ck_artifact_size_bytes", "artifact", schema=SCHEMA)
    for column in ("stored_file", "content", "sha256", "size_bytes", "content_type", "name"):
        op.drop_column("artifact", column, schema=SCHEMA)
    op.drop_column("artifact", "pack_ref", schema=SCHEMA)
