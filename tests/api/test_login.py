"""Password login: a session token that expires, failures alike and slowed down, logout."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from attune.auth import login_throttle
from attune.config import Settings
from tests.conftest import api_client
from tests.db.factories import unique
from tests.identities import IDENTITIES, bearer, log_in, make_identity

WHOAMI = "/api/v1/whoami"


async def test_a_login_gives_a_session_token_and_whoami_its_sets(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    made = await make_identity(api, permission_sets=["observer"])

    answer = await log_in(anonymous_api, made["login"])
    token = answer.json()["token"]
    me = await anonymous_api.get(WHOAMI, headers=bearer(token))

    assert answer.status_code == 200, answer.text
    assert token.startswith("att_")
    assert answer.json()["expires_at"]
    assert me.status_code == 200
    assert me.json()["login"] == made["login"]
    assert [held["name"] for held in me.json()["permission_sets"]] == ["observer"]
    assert me.json()["permission_sets"][0]["grants"]
    tokens = (await api.get(f"{IDENTITIES}/{made['login']}/tokens")).json()["items"]
    assert [(row["kind"], row["label"]) for row in tokens] == [("session", "session")]


async def test_a_session_token_past_its_expiry_is_refused(
    api: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    made = await make_identity(api)
    token = (await log_in(api, made["login"])).json()["token"]
    await session.execute(
        text("UPDATE attune.api_token SET expires_at = now() WHERE identity_id = :id"),
        {"id": made["id"]},
    )
    await session.commit()

    # An app of its own: nothing remembered, the stored expiry decides.
    async with api_client(settings, token=token) as fresh:
        refused = await fresh.get(WHOAMI)

    assert refused.status_code == 401


async def test_unknown_login_and_wrong_password_get_the_same_answer(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    made = await make_identity(api)

    wrong = await log_in(anonymous_api, made["login"], "not the password at all")
    unknown = await log_in(anonymous_api, unique("nobody"), "not the password at all")
    no_password = await make_identity(api, password=None)
    unset = await log_in(anonymous_api, no_password["login"], "anything at all")

    assert wrong.status_code == unknown.status_code == unset.status_code == 401
    assert wrong.json() == unknown.json() == unset.json()


async def test_a_disabled_identity_cannot_log_in(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    made = await make_identity(api, enabled=False)

    refused = await log_in(anonymous_api, made["login"])

    assert refused.status_code == 401


async def test_repeated_failures_are_slowed_down_and_a_success_resets_the_count(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    made = await make_identity(api)
    login = made["login"]

    almost = [await log_in(anonymous_api, login, "wrong wrong wrong") for _ in range(4)]
    success = await log_in(anonymous_api, login)
    again = [
        await log_in(anonymous_api, login, "wrong wrong wrong")
        for _ in range(login_throttle.LOGIN_LIMIT)
    ]
    throttled = await log_in(anonymous_api, login)

    assert [answer.status_code for answer in almost] == [401] * 4
    assert success.status_code == 200
    assert [answer.status_code for answer in again] == [401] * login_throttle.LOGIN_LIMIT
    assert throttled.status_code == 429
    assert "retry after" in throttled.json()["error"]["message"]
    assert throttled.json()["error"]["details"]["retry_after_seconds"] > 0


async def test_logout_revokes_the_session_token_only(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    made = await make_identity(api)
    token = (await log_in(anonymous_api, made["login"])).json()["token"]

    out = await anonymous_api.post("/api/v1/auth/logout", headers=bearer(token))
    after = await anonymous_api.get(WHOAMI, headers=bearer(token))
    api_token_logout = await api.post("/api/v1/auth/logout")

    assert out.status_code == 204
    assert after.status_code == 401
    assert api_token_logout.status_code == 409
    assert (await api.get(WHOAMI)).status_code == 200
