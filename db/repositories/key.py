"""Keys: persistence. A key past its `expires_at` is absent to every read here."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Boolean, ColumnElement, delete, func, literal_column, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Key, OwnerType
from db.repositories.base import DEFAULT_LIMIT, FRESH, Repository
from db.repositories.errors import domain_errors

repository = Repository(Key, noun="key", order_by=("owner_type", "owner", "name"))

UNIQUE_ADDRESS = "uq_key_owner_type_owner_name"
# What a `put` replaces in a key that is there already; its address stays.
REPLACED = ("value", "encrypted", "description", "expires_at")


def is_live() -> ColumnElement[bool]:
    """The condition of a key that has not expired (as of the statement's instant)."""
    return or_(Key.expires_at.is_(None), Key.expires_at > func.statement_timestamp())


def _at(owner_type: OwnerType, owner: str, name: str) -> tuple[ColumnElement[bool], ...]:
    return (Key.owner_type == owner_type, Key.owner == owner, Key.name == name)


async def list_by_owner(
    session: AsyncSession,
    *,
    owner_type: OwnerType,
    owner: str,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[Key]:
    """The live keys of one owner, ordered by name."""
    return await list_live(
        session, owner_types=[owner_type], owner=owner, limit=limit, offset=offset
    )


async def list_live(
    session: AsyncSession,
    *,
    owner_types: Collection[OwnerType],
    owner: str | None = None,
    prefix: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    visible: ColumnElement[bool] | None = None,
) -> list[Key]:
    """The live keys of these owner types (of one `owner`, when given) whose names start
    with `prefix`, in list order (owner type, owner, name); `limit` bounded as in `list`.
    `visible` (a clause) keeps those the caller may see."""
    where = [is_live(), Key.owner_type.in_(list(owner_types))]
    if visible is not None:
        where.append(visible)
    if owner is not None:
        where.append(Key.owner == owner)
    if prefix:
        # autoescape: a `%` or `_` in the prefix is a character, not a wildcard.
        where.append(Key.name.startswith(prefix, autoescape=True))
    return await repository.list(session, where=where, limit=limit, offset=offset)


async def find_by_name(
    session: AsyncSession, *, name: str, owner_type: OwnerType = OwnerType.SYSTEM, owner: str = ""
) -> Key | None:
    """The live key with this name in the owner's scope (the system's by default), or None."""
    return await session.scalar(select(Key).where(*_at(owner_type, owner, name), is_live()))


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


async def put(
    session: AsyncSession,
    *,
    owner_type: OwnerType,
    owner: str,
    name: str,
    value: Any,
    encrypted: bool = False,
    description: str = "",
    ttl_seconds: int | None = None,
) -> tuple[Key, bool]:
    """Create the key at this address or replace the one there; (the key, whether created).

    One statement, so two writers at once cannot both create it. An expired key not yet
    deleted counts as absent: it is deleted first, and the put creates. `ttl_seconds`
    counts from the database's clock, the one reads compare `expires_at` with.
    """
    with domain_errors(repository.noun):
        await session.execute(
            delete(Key).where(
                *_at(owner_type, owner, name), Key.expires_at <= func.statement_timestamp()
            )
        )
        expires_at = (
            None
            if ttl_seconds is None
            else func.statement_timestamp() + timedelta(seconds=ttl_seconds)
        )
        inserting = insert(Key).values(
            owner_type=owner_type,
            owner=owner,
            name=name,
            value=value,
            encrypted=encrypted,
            description=description,
            expires_at=expires_at,
        )
        statement = inserting.on_conflict_do_update(
            constraint=UNIQUE_ADDRESS,
            set_={column: inserting.excluded[column] for column in REPLACED},
        ).returning(Key, literal_column("xmax = 0", Boolean))
        # xmax is 0 only in a row version this statement inserted, not in one it updated.
        row = (await session.execute(statement, execution_options=FRESH)).one()
    key, created = row
    return key, bool(created)


async def delete_by_name(
    session: AsyncSession, *, owner_type: OwnerType, owner: str, name: str
) -> bool:
    """Delete the live key at this address; whether there was one."""
    result = await session.execute(
        delete(Key).where(*_at(owner_type, owner, name), is_live()).returning(Key.id)
    )
    return result.first() is not None


async def delete_expired(session: AsyncSession) -> int:
    """Delete the keys whose expiry has passed; how many went."""
    result = await session.execute(delete(Key).where(Key.expires_at <= func.statement_timestamp()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
