"""One engine per process, and the session factory that goes with it."""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import URL, event
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from attune import errors

# What asyncpg raises when no session can be had: nothing listens, the server is starting
# or stopping, the network drops the packets (the connect timeout), the socket is gone.
_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.PostgresConnectionError,
)


class DatabaseUnreachable(errors.ServiceUnavailable, ConnectionError):
    """No connection to PostgreSQL could be made; a 503 to an API caller.

    Also a `ConnectionError`, so code that treats an `OSError` from a connect as "the
    database is gone" (and waits for it) still does.
    """


def create_engine(
    url: str, *, pool_size: int = 10, connect_timeout: float | None = None
) -> AsyncEngine:
    """An asyncpg engine that survives a restarted server (pre-ping drops dead connections).

    A connect that fails raises `DatabaseUnreachable` naming the server; `connect_timeout`
    bounds each connect (None: asyncpg's 60 s), so a server that drops packets is a quick
    error rather than a request that hangs.
    """
    connect_args: dict[str, Any] = {} if connect_timeout is None else {"timeout": connect_timeout}
    engine = create_async_engine(
        url, pool_pre_ping=True, pool_size=pool_size, max_overflow=10, connect_args=connect_args
    )
    event.listen(engine.sync_engine, "do_connect", _connect_or_unreachable(engine.url))
    return engine


def _connect_or_unreachable(url: URL) -> Any:
    where = database_location(url)

    def connect(
        dialect: Dialect, _record: ConnectionPoolEntry, cargs: Any, cparams: dict[str, Any]
    ) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except _UNREACHABLE as error:
            reason = str(error) or type(error).__name__
            raise DatabaseUnreachable(
                f"PostgreSQL at {where} is unreachable ({reason}); try again",
                details={"service": "postgresql"},
            ) from error

    return connect


def database_location(url: URL) -> str:
    """`host:port/database` of the server (the socket directory for a Unix socket), never
    the credentials."""
    socket = url.query.get("host")
    return f"{url.host or socket}:{url.port or 5432}/{url.database}"


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit, for building responses."""
    return async_sessionmaker(engine, expire_on_commit=False)


def create_autocommit_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose every statement commits on its own, for single-statement writes.

    On a hot path (each action run writes twice) skipping BEGIN and COMMIT saves two round
    trips per write; only code whose writes are each one statement may use these.
    """
    return create_session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
