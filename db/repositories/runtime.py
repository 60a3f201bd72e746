"""Runtimes: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Runtime, RuntimeType
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Runtime, noun="runtime", order_by=("ref",), natural_key="ref")


async def list_by_type(
    session: AsyncSession, *, runtime_type: RuntimeType, limit: int = DEFAULT_LIMIT
) -> list[Runtime]:
    """The runtimes of one type (action or sensor), by ref."""
    return await repository.list(session, runtime_type=runtime_type, limit=limit)


async def list_by_pack(
    session: AsyncSession, *, pack_id: int, limit: int = DEFAULT_LIMIT
) -> list[Runtime]:
    """The runtimes a pack ships, by ref."""
    return await repository.list(session, pack_id=pack_id, limit=limit)
