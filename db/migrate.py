"""Applying Alembic migrations from code, on an async engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from db.schema import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"
ENCRYPTION_KEY_ATTRIBUTE = "encryption_key"


def alembic_config() -> Config:
    config = Config(str(Path(__file__).parent / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(url: str, revision: str = "head", *, encryption_key: bytes | None = None) -> None:
    """Bring the database at `url` up to `revision`.

    `encryption_key` is for the migrations that encrypt values already stored (0005: secret
    parameters); one that needs it and finds none refuses, naming ATTUNE_ENCRYPTION_KEY.
    """
    await _run(
        url,
        lambda config: command.upgrade(config, revision),
        attributes={ENCRYPTION_KEY_ATTRIBUTE: encryption_key},
    )


async def downgrade(
    url: str, revision: str = "base", *, encryption_key: bytes | None = None
) -> None:
    """Take the database at `url` down to `revision` (the key as for `upgrade`)."""
    await _run(
        url,
        lambda config: command.downgrade(config, revision),
        attributes={ENCRYPTION_KEY_ATTRIBUTE: encryption_key},
    )


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None before the first migration."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_read_revision)
    finally:
        await engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _read_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table_schema": SCHEMA})
    return context.get_current_revision()


async def _run(
    url: str, step: Callable[[Config], None], *, attributes: dict[str, Any] | None = None
) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_with_connection, step, attributes or {})
    finally:
        await engine.dispose()


def _with_connection(
    connection: Connection, step: Callable[[Config], None], attributes: dict[str, Any]
) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    config.attributes.update(attributes)
    step(config)
