"""API tokens for automation: shown once, listed without the token, revoked at once."""

from __future__ import annotations

import httpx

from tests.identities import IDENTITIES, bearer, make_identity, make_token


async def test_a_token_is_shown_once_listed_without_it_and_revoked_at_once(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    login = (await make_identity(api))["login"]
    made = await make_token(api, login, label="ci", ttl_seconds=3600)
    token = made["token"]

    works = await anonymous_api.get("/api/v1/whoami", headers=bearer(token))
    listed = await api.get(f"{IDENTITIES}/{login}/tokens")
    revoked = await api.delete(f"{IDENTITIES}/{login}/tokens/{made['id']}")
    refused = await anonymous_api.get("/api/v1/whoami", headers=bearer(token))
    after = await api.get(f"{IDENTITIES}/{login}/tokens")

    assert token.startswith("att_")
    assert made["label"] == "ci"
    assert made["expires_at"]
    assert works.status_code == 200
    assert works.json()["login"] == login
    [row] = listed.json()["items"]
    assert row["id"] == made["id"]
    assert row["kind"] == "api"
    assert row["last_used_at"] is not None
    assert row["revoked"] is False
    assert "token" not in row
    assert "token_hash" not in row
    assert token not in listed.text
    assert revoked.status_code == 204
    assert refused.status_code == 401
    assert after.json()["items"][0]["revoked"] is True


async def test_token_mistakes(api: httpx.AsyncClient) -> None:
    login = (await make_identity(api))["login"]
    other = (await make_identity(api))["login"]
    theirs = await make_token(api, other)

    both = await api.post(
        f"{IDENTITIES}/{login}/tokens",
        json={"ttl_seconds": 600, "expires_at": "2999-01-01T00:00:00Z"},
    )
    past = await api.post(
        f"{IDENTITIES}/{login}/tokens", json={"expires_at": "2001-01-01T00:00:00Z"}
    )
    not_theirs = await api.delete(f"{IDENTITIES}/{login}/tokens/{theirs['id']}")
    no_one = await api.get(f"{IDENTITIES}/nobody-at-all-here/tokens")

    assert (both.status_code, both.json()["error"]["details"]["field"]) == (422, "ttl_seconds")
    assert (past.status_code, past.json()["error"]["details"]["field"]) == (422, "expires_at")
    assert not_theirs.status_code == 404
    assert no_one.status_code == 404
