"""Alembic environment: runs on a connection handed over by `db.migrate`, or opens its own."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from db.schema import SCHEMA, metadata

config = context.config


def run_on(connection: Connection) -> None:
    # The version table lives in our schema, which must exist before Alembic writes to it.
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=SCHEMA,
        include_schemas=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


given = config.attributes.get("connection")
if given is not None:
    run_on(given)
else:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("ATTUNE_DATABASE_URL")
    if not url:
        raise SystemExit("ATTUNE_DATABASE_URL: set it to the database to migrate")
    asyncio.run(run_with_own_engine(url))
