"""Keys: persistence. A key past its `expires_at` is absent to every read here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Key, OwnerType
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Key, noun="key", order_by=("owner_type", "owner", "name"))


def is_live() -> ColumnElement[bool]:
    """The condition of a key that has not expired (as of the statement's instant)."""
    return or_(Key.expires_at.is_(None), Key.expires_at > func.statement_timestamp())


async def list_by_owner(
    session: AsyncSession,
    *,
    owner_type: OwnerType,
    owner: str,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[Key]:
    """The live keys of one owner, ordered by name."""
    rows = await session.scalars(
        select(Key)
        .where(Key.owner_type == owner_type, Key.owner == owner, is_live())
        .order_by(Key.name)
        .limit(limit)
        .offset(offset)
    )
    return list(rows)


async def find_by_name(
    session: AsyncSession, *, name: str, owner_type: OwnerType = OwnerType.SYSTEM, owner: str = ""
) -> Key | None:
    """The live key with this name in the owner's scope (the system's by default), or None."""
    return await session.scalar(
        select(Key).where(
            Key.owner_type == owner_type, Key.owner == owner, Key.name == name, is_live()
        )
    )


async def find_many(
    session: AsyncSession, addresses: Iterable[tuple[OwnerType, str, str]]
) -> Sequence[Key]:
    """The live keys at these (owner type, owner, name) addresses, in one query."""
    wanted = list(dict.fromkeys(addresses))
    if not wanted:
        return []
    rows = await session.scalars(
        select(Key).where(tuple_(Key.owner_type, Key.owner, Key.name).in_(wanted), is_live())
    )
    return rows.all()


async def delete_expired(session: AsyncSession) -> int:
    """Delete the keys whose expiry has passed; how many went."""
    result = await session.execute(delete(Key).where(Key.expires_at <= func.statement_timestamp()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
