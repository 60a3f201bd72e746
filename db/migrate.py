"""Applying Alembic migrations from code, on an async engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from db.schema import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config(str(Path(__file__).parent / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision`."""
    await _run(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str = "base") -> None:
    """Take the database at `url` down to `revision`."""
    await _run(url, lambda config: command.downgrade(config, revision))


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


async def _run(url: str, step: Callable[[Config], None]) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_with_connection, step)
    finally:
        await engine.dispose()


def _with_connection(connection: Connection, step: Callable[[Config], None]) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    step(config)
