"""Keys written straight into the database, and rows read back whole, for tests.

Straight into the table (not through the keys API), sealing encrypted values as the store
does, so template and token tests stand on their own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.auth.tokens import authenticate
from attune.config import Settings
from attune.keys.addresses import KeyAddress, Scope
from attune.keys.values import seal_value
from db.engine import create_session_factory
from db.repositories import key as keys


async def put_key(
    engine: AsyncEngine,
    settings: Settings,
    address: KeyAddress,
    value: Any,
    *,
    encrypted: bool = False,
) -> None:
    """Store `value` at `address`, sealed under the settings' key when `encrypted`."""
    if encrypted:
        assert settings.encryption_key_bytes is not None
        value = seal_value(settings.encryption_key_bytes, address, value)
    async with create_session_factory(engine).begin() as session:
        await keys.repository.create(
            session,
            name=address.name,
            owner_type=address.owner_type,
            owner=address.owner,
            value=value,
            encrypted=encrypted,
        )


def system(name: str) -> KeyAddress:
    return KeyAddress(Scope.SYSTEM, "", name)


def of_pack(pack: str, name: str) -> KeyAddress:
    return KeyAddress(Scope.PACK, pack, name)


def of_user(login: str, name: str) -> KeyAddress:
    return KeyAddress(Scope.USER, login, name)


async def login_of(engine: AsyncEngine, token: str) -> str:
    """The login of the identity whose API token this is."""
    async with create_session_factory(engine).begin() as session:
        return (await authenticate(session, token)).login


async def row_text(engine: AsyncEngine, table: str, id: int) -> str:
    """The whole row as PostgreSQL's JSON text: every column, to search for a value."""
    async with create_session_factory(engine)() as session:
        found = await session.scalar(
            text(f"SELECT row_to_json(t)::text FROM attune.{table} t WHERE t.id = :id"),
            {"id": id},
        )
    assert found is not None, f"no {table} {id}"
    return str(found)
