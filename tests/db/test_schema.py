"""The migrated database is exactly the schema `db.models` describes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, Connection, Enum, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db import models
from db.schema import SCHEMA, metadata

ENUM_VALUES = {
    "execution_status": [
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
    ],
    "enforcement_status": ["created", "processed", "disabled"],
    "enforcement_condition": ["any", "all"],
    "inquiry_status": ["pending", "responded", "timeout", "cancelled"],
    "worker_type": ["local", "remote", "container"],
    "worker_status": ["active", "inactive", "busy", "error"],
    "runtime_type": ["action", "sensor"],
    "artifact_type": [
        "file_binary",
        "file_datatable",
        "file_image",
        "file_text",
        "other",
        "progress",
        "url",
    ],
    "retention_policy": ["versions", "days", "hours", "minutes"],
    "owner_type": ["system", "identity", "pack", "action", "sensor"],
    "notification_state": ["created", "queued", "processing", "error"],
}


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "schema":
        return name == SCHEMA
    if type_ == "table":
        return name != "alembic_version"
    return True


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "version_table_schema": SCHEMA,
            "compare_type": True,
            "include_name": _include_name,
        },
    )
    return list(compare_metadata(context, metadata))


async def test_migrations_match_models(engine: AsyncEngine) -> None:
    assert models.Base.metadata is metadata
    async with engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == [], "\n".join(repr(entry) for entry in diff)


async def test_enum_types_have_exactly_the_listed_values(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                """
                SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
                FROM pg_type t
                JOIN pg_namespace n ON n.oid = t.typnamespace
                JOIN pg_enum e ON e.enumtypid = t.oid
                WHERE n.nspname = :schema
                GROUP BY t.typname
                """
            ),
            {"schema": SCHEMA},
        )
        in_database = {name: list(values) for name, values in rows}
    assert in_database == ENUM_VALUES

    # And the models store the same values under the same type names.
    in_models = {
        column.type.name: list(column.type.enums)
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, Enum) and column.type.name is not None
    }
    assert in_models == ENUM_VALUES


async def test_every_table_has_its_touch_updated_trigger(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                """
                SELECT c.relname, t.tgname
                FROM pg_trigger t
                JOIN pg_class c ON c.oid = t.tgrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = :schema AND NOT t.tgisinternal
                """
            ),
            {"schema": SCHEMA},
        )
        triggers: dict[str, set[str]] = {}
        for table, name in rows:
            triggers.setdefault(table, set()).add(name)
    # Beside the touch triggers: those filling the outbox of Attune's own triggers (0007),
    # and those telling the event stream (0015, and 0016 for artifacts).
    outbox = {
        "execution": {"execution_finished_on_insert", "execution_finished_on_update"},
        "inquiry": {"inquiry_created"},
    }
    told = {"execution", "event", "enforcement", "inquiry", "sensor", "artifact"}
    with_status = {"execution", "inquiry", "sensor"}

    def stream(table: str) -> set[str]:
        created = {f"{table}_created_to_stream"} if table in told else set()
        changed = {f"{table}_status_to_stream"} if table in with_status else set()
        if table == "artifact":
            changed = {"artifact_data_to_stream"}
        return created | changed

    assert triggers == {
        table.name: {f"{table.name}_touch_updated"}
        | outbox.get(table.name, set())
        | stream(table.name)
        for table in metadata.sorted_tables
        # Append-only tables (audit, login_failure) have no `updated` to keep.
        if "updated" in table.c
    }


async def test_check_constraints_match_models(engine: AsyncEngine) -> None:
    # Alembic's comparison does not look at CHECK constraints: compare their names here.
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                """
                SELECT c.conrelid::regclass::text, c.conname
                FROM pg_constraint c
                JOIN pg_namespace n ON n.oid = c.connamespace
                WHERE n.nspname = :schema AND c.contype = 'c'
                """
            ),
            {"schema": SCHEMA},
        )
        in_database = {(str(row[0]).removeprefix(f"{SCHEMA}."), row[1]) for row in rows}
    in_models = {
        (table.name, str(constraint.name))
        for table in metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }
    assert in_database == in_models


@pytest.mark.parametrize(
    ("ref", "version", "constraint"),
    [
        ("Upper", "1.0.0", "ck_pack_ref_format"),
        ("has.dot", "1.0.0", "ck_pack_ref_format"),
        ("fine", "1.0", "ck_pack_version_semver"),
        ("fine", "01.0.0", "ck_pack_version_semver"),
    ],
)
async def test_pack_checks_name_the_violated_constraint(
    engine: AsyncEngine, ref: str, version: str, constraint: str
) -> None:
    with pytest.raises(IntegrityError, match=constraint):
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO attune.pack (ref, label, version) VALUES (:ref, 'x', :version)"),
                {"ref": ref, "version": version},
            )


async def test_updated_moves_on_raw_update(engine: AsyncEngine) -> None:
    ref = f"schema_{uuid.uuid4().hex[:12]}"
    async with engine.begin() as connection:
        inserted = await connection.execute(
            text(
                "INSERT INTO attune.pack (ref, label, version) "
                "VALUES (:ref, 'Before', '1.2.3-rc.1+build.5') RETURNING id, created, updated"
            ),
            {"ref": ref},
        )
        pack_id, created, updated = inserted.one()
    assert created == updated

    async with engine.begin() as connection:
        await connection.execute(text("SELECT pg_sleep(0.01)"))
        changed = await connection.execute(
            text(
                "UPDATE attune.pack SET label = 'After' WHERE id = :id RETURNING created, updated"
            ),
            {"id": pack_id},
        )
        created_after, updated_after = changed.one()
        await connection.execute(text("DELETE FROM attune.pack WHERE id = :id"), {"id": pack_id})
    assert created_after == created
    assert updated_after > updated


async def test_models_round_trip_with_server_values(session: AsyncSession) -> None:
    pack_ref = f"orm_{uuid.uuid4().hex[:12]}"
    pack = models.Pack(ref=pack_ref, label="ORM", version="0.1.0")
    session.add(pack)
    await session.flush()
    action = models.Action(
        ref=f"{pack_ref}.hello",
        pack_id=pack.id,
        pack_ref=pack_ref,
        name="hello",
        runner_type="python",
    )
    session.add(action)
    execution = models.Execution(action_id=None, action_ref=action.ref)
    session.add(execution)
    await session.commit()

    assert action.enabled is True
    assert action.parameters == {}
    assert pack.tags == []
    assert execution.status is models.ExecutionStatus.REQUESTED
    assert execution.created == execution.updated

    before = execution.updated
    execution.status = models.ExecutionStatus.RUNNING
    await session.commit()
    # Eager defaults read back the trigger's `updated` without a lazy load.
    assert execution.updated > before

    await session.delete(pack)
    await session.delete(execution)
    await session.commit()
