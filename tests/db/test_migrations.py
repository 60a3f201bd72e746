"""Alembic runs from empty to head, back to base, and up again."""

from __future__ import annotations

import uuid

import asyncpg
from sqlalchemy import make_url

from db import migrate


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    # A database of its own: going down to base must not disturb the session's shared one.
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
    url = admin.set(database=name).render_as_string(hide_password=False)

    assert await migrate.current_revision(url) is None
    await migrate.upgrade(url)
    assert await migrate.current_revision(url) == migrate.head_revision()
    await migrate.downgrade(url, "base")
    assert await migrate.current_revision(url) is None
    await migrate.upgrade(url)
    assert await migrate.current_revision(url) == migrate.head_revision()
