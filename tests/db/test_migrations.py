"""Alembic runs from empty to head, back to base, and up again."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from attune.config import decode_encryption_key
from attune.engine.secret_parameters import unsealed_parameters
from db import migrate
from tests.conftest import TEST_ENCRYPTION_KEY

KEY = decode_encryption_key(TEST_ENCRYPTION_KEY)


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    # A database of its own: going down to base must not disturb the session's shared one.
    url = await _fresh_database(database_url)

    assert await migrate.current_revision(url) is None
    await migrate.upgrade(url)
    assert await migrate.current_revision(url) == migrate.head_revision()
    await migrate.downgrade(url, "base")
    assert await migrate.current_revision(url) is None
    await migrate.upgrade(url)
    assert await migrate.current_revision(url) == migrate.head_revision()


async def _fresh_database(database_url: str) -> str:
    """A new empty database on the session's server; its URL."""
    name = f"attune_migrations_{uuid.uuid4().hex[:12]}"
    admin = make_url(database_url)
    connection = await asyncpg.connect(
        user=admin.username,
        password=admin.password,
        host=admin.query.get("host", admin.host),
        port=admin.port,
        database=admin.database,
    )
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    return admin.set(database=name).render_as_string(hide_password=False)


async def _execute(url: str, *statements: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            results = [await connection.execute(text(statement)) for statement in statements]
            return [result.all() if result.returns_rows else None for result in results]
    finally:
        await engine.dispose()


LEGACY_ROWS = (
    "INSERT INTO attune.pack (ref, label, version) VALUES ('legacy', 'Legacy', '1.0.0')",
    "INSERT INTO attune.action (ref, pack_id, pack_ref, name, runner_type, parameters) "
    "SELECT 'legacy.login', id, 'legacy', 'login', 'noop', "
    """'{"type": "object", "properties": {"user": {"type": "string"}, """
    """"password": {"type": "string", "secret": true}}}'::jsonb FROM attune.pack""",
    "INSERT INTO attune.execution (action_id, action_ref, parameters) "
    """SELECT id, ref, '{"user": "ops", "password": "hunter2"}'::jsonb FROM attune.action""",
    # An execution whose action was deleted since: which parameter was secret is unknown.
    "INSERT INTO attune.execution (action_id, action_ref, parameters) "
    """VALUES (NULL, 'gone.action', '{"token": "s3cret"}'::jsonb)""",
)


async def test_secret_parameters_stored_in_plain_text_are_sealed_by_the_upgrade(
    database_url: str,
) -> None:
    url = await _fresh_database(database_url)
    await migrate.upgrade(url, "0004")
    await _execute(url, *LEGACY_ROWS)

    # Without the key the upgrade refuses, naming the setting, and changes nothing.
    with pytest.raises(RuntimeError, match="ATTUNE_ENCRYPTION_KEY"):
        await migrate.upgrade(url)
    assert await migrate.current_revision(url) == "0004"

    await migrate.upgrade(url, encryption_key=KEY)
    [rows] = await _execute(
        url, "SELECT id, parameters, secret_parameters FROM attune.execution ORDER BY id"
    )
    (login_id, login, login_sealed), (orphan_id, orphan, orphan_sealed) = rows
    assert login == {"user": "ops", "password": "********"}
    assert orphan == {"token": "********"}
    assert "hunter2" not in login_sealed
    assert "s3cret" not in orphan_sealed
    assert unsealed_parameters(KEY, login_id, login, login_sealed) == {
        "user": "ops",
        "password": "hunter2",
    }
    assert unsealed_parameters(KEY, orphan_id, orphan, orphan_sealed) == {"token": "s3cret"}

    # Going back puts the values where the old code reads them.
    await migrate.downgrade(url, "0004", encryption_key=KEY)
    [restored] = await _execute(url, "SELECT parameters FROM attune.execution ORDER BY id")
    assert [parameters for (parameters,) in restored] == [
        {"user": "ops", "password": "hunter2"},
        {"token": "s3cret"},
    ]
