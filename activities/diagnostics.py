"""A round trip from a workflow to the database, so operators can see a worker is really alive."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity


@dataclass
class DatabasePing:
    database_version: str
    worker_host: str


class DiagnosticActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @activity.defn(name="attune.ping_database")
    async def ping_database(self) -> DatabasePing:
        """Ask PostgreSQL for its version from the worker that runs this activity."""
        async with self._engine.connect() as connection:
            version = (await connection.execute(text("SHOW server_version"))).scalar_one()
        return DatabasePing(database_version=str(version), worker_host=socket.gethostname())
