"""The audit trail: a record for each change of access, each login attempt and decrypt."""

from __future__ import annotations

from typing import Any

import httpx

from tests.identities import IDENTITIES, bearer, log_in, make_identity, make_token

AUDIT = "/api/v1/audit"


async def _records(api: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    answer = await api.get(AUDIT, params={"limit": 1000, **filters})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_each_change_and_login_is_recorded_newest_first(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    me = (await api.get("/api/v1/whoami")).json()["login"]
    login = (await make_identity(api))["login"]
    await api.patch(f"{IDENTITIES}/{login}", json={"display_name": "X", "password": "a" * 12})
    token = await make_token(api, login, label="ci")
    await api.delete(f"{IDENTITIES}/{login}/tokens/{token['id']}")
    await log_in(anonymous_api, login, "wrong password!!")
    session_token = (await log_in(anonymous_api, login, "a" * 12)).json()["token"]
    await anonymous_api.post("/api/v1/auth/logout", headers=bearer(session_token))
    await api.delete(f"{IDENTITIES}/{login}")

    ours = [row for row in await _records(api) if row["target"] == login]

    assert [row["action"] for row in ours] == [
        "identity.delete",
        "logout",
        "login.success",
        "login.failure",
        "token.revoke",
        "token.create",
        "identity.update",
        "identity.create",
    ]
    by_action = {row["action"]: row for row in ours}
    assert by_action["identity.create"]["actor"] == me
    assert by_action["identity.update"]["details"]["password"] == "changed"
    assert "a" * 12 not in str(ours)
    assert by_action["login.failure"]["actor"] is None
    assert by_action["login.failure"]["details"] == {"reason": "wrong password"}
    assert by_action["login.success"]["actor"] == login
    assert by_action["token.create"]["details"]["token_id"] == token["id"]
    assert all(row["source"] for row in ours)


async def test_filters_and_paging(api: httpx.AsyncClient) -> None:
    for _ in range(3):
        await make_identity(api)
    me = (await api.get("/api/v1/whoami")).json()["login"]

    creates = await _records(api, action="identity.create", actor=me)
    first = (await api.get(AUDIT, params={"limit": 2, "action": "identity.create"})).json()
    second = (
        await api.get(
            AUDIT,
            params={"limit": 2, "action": "identity.create", "before_id": first["next_before_id"]},
        )
    ).json()

    assert len(creates) >= 3
    assert {row["action"] for row in creates} == {"identity.create"}
    assert {row["actor"] for row in creates} == {me}
    ids = [row["id"] for row in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 4


async def test_a_decrypt_is_recorded(api: httpx.AsyncClient) -> None:
    name = f"audited-{id(api)}"
    await api.put(f"/api/v1/keys/system/{name}", json={"value": "s3cret", "encrypted": True})

    await api.get(f"/api/v1/keys/system/{name}", params={"decrypt": "true"})

    decrypts = await _records(api, action="key.decrypt")
    assert any(name in (row["target"] or "") for row in decrypts)
