"""One engine per process, and the session factory that goes with it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine that survives a restarted server (pre-ping drops dead connections)."""
    return create_async_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=10)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit, for building responses."""
    return async_sessionmaker(engine, expire_on_commit=False)


def create_autocommit_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose every statement commits on its own, for single-statement writes.

    On a hot path (each action run writes twice) skipping BEGIN and COMMIT saves two round
    trips per write; only code whose writes are each one statement may use these.
    """
    return create_session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
