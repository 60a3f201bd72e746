"""Helpers for the tests of identities, logins and tokens."""

from __future__ import annotations

from typing import Any

import httpx

from tests.db.factories import unique

IDENTITIES = "/api/v1/identities"
PASSWORD = "correct horse battery"


async def make_identity(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A new identity (a fresh login, the shared test password unless given)."""
    body = {"login": unique("user"), "password": PASSWORD, **fields}
    response = await api.post(IDENTITIES, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def log_in(api: httpx.AsyncClient, login: str, password: str = PASSWORD) -> httpx.Response:
    return await api.post("/api/v1/auth/login", json={"login": login, "password": password})


async def make_token(api: httpx.AsyncClient, login: str, **fields: Any) -> dict[str, Any]:
    response = await api.post(f"{IDENTITIES}/{login}/tokens", json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
