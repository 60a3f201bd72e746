"""Records of the access-and-keys group (tokens, permission sets, keys), in a line each.

Unique names throughout, so the suites run in parallel and in any order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiToken, Identity, Key, PermissionSet
from db.repositories import api_token, key, permission_set
from tests.db.factories import make_identity, unique


async def make_api_token(
    session: AsyncSession, owner: Identity | None = None, **values: Any
) -> ApiToken:
    owner = owner or await make_identity(session)
    fields: dict[str, Any] = {"identity_id": owner.id, "token_hash": unique("hash")}
    return await api_token.repository.create(session, **(fields | values))


async def make_permission_set(session: AsyncSession, **values: Any) -> PermissionSet:
    fields: dict[str, Any] = {"ref": unique("perm")}
    return await permission_set.repository.create(session, **(fields | values))


async def make_key(session: AsyncSession, **values: Any) -> Key:
    fields: dict[str, Any] = {"name": unique("key"), "value": "secret"}
    return await key.repository.create(session, **(fields | values))
