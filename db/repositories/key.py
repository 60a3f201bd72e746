"""Keys: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Key, OwnerType
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Key, noun="key", order_by=("owner_type", "owner", "name"))


async def list_by_owner(
    session: AsyncSession,
    *,
    owner_type: OwnerType,
    owner: str,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[Key]:
    """The keys of one owner, ordered by name."""
    return await repository.list(
        session, owner_type=owner_type, owner=owner, limit=limit, offset=offset
    )


async def find_by_name(
    session: AsyncSession, *, name: str, owner_type: OwnerType = OwnerType.SYSTEM, owner: str = ""
) -> Key | None:
    """The key with this name in the owner's scope (the system's by default), or None."""
    return await repository.find_first(session, owner_type=owner_type, owner=owner, name=name)
