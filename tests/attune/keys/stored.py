"""Keys as tests see them: through the API in a line, and as the raw rows PostgreSQL holds."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_session_factory

KEYS = "/api/v1/keys"


async def put_key(
    api: httpx.AsyncClient,
    path: str,
    value: Any,
    *,
    params: dict[str, str] | None = None,
    **body: Any,
) -> dict[str, Any]:
    """PUT `value` at `KEYS/path`, insisting that it is created."""
    response = await api.put(f"{KEYS}/{path}", params=params, json={"value": value, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def field_of(response: httpx.Response) -> str:
    """The field an error answer names: a domain error's, or the first request problem's."""
    details = response.json()["error"]["details"]
    field: str = details["field"] if "field" in details else details["errors"][0]["field"]
    return field


async def raw_key(engine: AsyncEngine, name: str) -> dict[str, Any] | None:
    """The row of the (only) key called `name`, expired or not, as stored."""
    async with create_session_factory(engine)() as session:
        row = (
            await session.execute(
                text(
                    "SELECT id, value, value::text AS text, encrypted "
                    "FROM attune.key WHERE name = :name"
                ),
                {"name": name},
            )
        ).one_or_none()
    return None if row is None else dict(row._mapping)


async def set_raw_value(engine: AsyncEngine, name: str, value_json: str) -> None:
    """Overwrite the stored JSON of the key called `name`, as someone with the database could."""
    async with create_session_factory(engine).begin() as session:
        await session.execute(
            text("UPDATE attune.key SET value = CAST(:value AS jsonb) WHERE name = :name"),
            {"value": value_json, "name": name},
        )
