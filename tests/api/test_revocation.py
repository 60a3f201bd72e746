"""Revocation bites at once in every API process: two apps on one database, the change made
through A, the token refused by B although B's cache would trust it for minutes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from attune.config import Settings
from tests.conftest import api_client
from tests.identities import IDENTITIES, bearer, log_in, make_identity, make_token

WHOAMI = "/api/v1/whoami"
# Far beyond the test: a refusal can only come from the notification.
CACHE_SECONDS = 600.0
DELIVERY_SECONDS = 2.0


@pytest.fixture
def cached_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"token_cache_seconds": CACHE_SECONDS})


async def _refused_soon(app: httpx.AsyncClient, token: str) -> float:
    """Seconds until `app` refuses `token`; the notification is delivered asynchronously,
    so allow it a moment (DELIVERY_SECONDS), far below the cache's ttl."""
    started = time.monotonic()
    while (await app.get(WHOAMI, headers=bearer(token))).status_code != 401:
        assert time.monotonic() - started < DELIVERY_SECONDS, "app B still trusts the token"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


Change = Callable[[httpx.AsyncClient, str, dict[str, object]], Awaitable[httpx.Response]]


async def _revoke(a: httpx.AsyncClient, login: str, token: dict[str, object]) -> httpx.Response:
    return await a.delete(f"{IDENTITIES}/{login}/tokens/{token['id']}")


async def _disable(a: httpx.AsyncClient, login: str, _: dict[str, object]) -> httpx.Response:
    return await a.patch(f"{IDENTITIES}/{login}", json={"enabled": False})


async def _delete(a: httpx.AsyncClient, login: str, _: dict[str, object]) -> httpx.Response:
    return await a.delete(f"{IDENTITIES}/{login}")


@pytest.mark.parametrize(
    "change", [_revoke, _disable, _delete], ids=["revoke", "disable", "delete"]
)
async def test_a_change_through_app_a_is_refused_by_app_b(
    cached_settings: Settings, admin_token: str, change: Change
) -> None:
    async with (
        api_client(cached_settings, token=admin_token) as a,
        api_client(cached_settings) as b,
    ):
        login = (await make_identity(a))["login"]
        token = await make_token(a, login)
        trusted = await b.get(WHOAMI, headers=bearer(str(token["token"])))
        trusted_again = await b.get(WHOAMI, headers=bearer(str(token["token"])))

        changed = await change(a, login, token)
        await _refused_soon(b, str(token["token"]))

    assert trusted.status_code == trusted_again.status_code == 200
    assert changed.status_code in (200, 204), changed.text


async def test_a_logout_through_app_a_is_refused_by_app_b(
    cached_settings: Settings, admin_token: str
) -> None:
    async with (
        api_client(cached_settings, token=admin_token) as a,
        api_client(cached_settings) as b,
    ):
        login = (await make_identity(a))["login"]
        token = (await log_in(a, login)).json()["token"]
        trusted = await b.get(WHOAMI, headers=bearer(token))

        out = await a.post("/api/v1/auth/logout", headers=bearer(token))
        await _refused_soon(b, token)

    assert trusted.status_code == 200
    assert out.status_code == 204


async def test_without_a_notification_app_b_keeps_trusting_its_cache(
    cached_settings: Settings, admin_token: str
) -> None:
    """The control: a change that announces nothing (a display name) leaves B's cache be,
    so the refusals above are the notification's doing."""
    async with (
        api_client(cached_settings, token=admin_token) as a,
        api_client(cached_settings) as b,
    ):
        login = (await make_identity(a, display_name="before"))["login"]
        token = str((await make_token(a, login))["token"])
        await b.get(WHOAMI, headers=bearer(token))

        await a.patch(f"{IDENTITIES}/{login}", json={"display_name": "after"})
        await asyncio.sleep(0.2)
        cached = await b.get(WHOAMI, headers=bearer(token))

    assert cached.json()["display_name"] == "before"
