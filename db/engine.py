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
