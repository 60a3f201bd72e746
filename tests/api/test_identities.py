"""Identities over HTTP: create, read, change, delete; their errors; the last admin kept."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from attune.auth.admin import ensure_admin_token
from attune.config import Settings
from db.engine import create_session_factory
from db.models import Identity, PermissionSet
from tests.conftest import api_client
from tests.db.factories import unique
from tests.identities import IDENTITIES, PASSWORD, make_identity


async def test_create_read_list_change_and_delete(api: httpx.AsyncClient) -> None:
    login = unique("ann")
    created = await api.post(
        IDENTITIES,
        json={
            "login": login,
            "display_name": "Ann",
            "password": PASSWORD,
            "permission_sets": ["operator", "observer"],
        },
    )
    got = await api.get(f"{IDENTITIES}/{login}")
    listed = await api.get(IDENTITIES, params={"limit": 1000})
    changed = await api.patch(
        f"{IDENTITIES}/{login}",
        json={"display_name": "Ann B", "enabled": False, "permission_sets": ["observer"]},
    )
    deleted = await api.delete(f"{IDENTITIES}/{login}")
    gone = await api.get(f"{IDENTITIES}/{login}")

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["permission_sets"] == ["observer", "operator"]
    assert (body["enabled"], body["has_password"]) == (True, True)
    assert "password_hash" not in body
    assert "password" not in body
    assert got.json() == body
    assert login in [item["login"] for item in listed.json()["items"]]
    assert (changed.json()["display_name"], changed.json()["enabled"]) == ("Ann B", False)
    assert changed.json()["permission_sets"] == ["observer"]
    assert deleted.status_code == 204
    assert gone.status_code == 404


async def test_the_password_is_stored_as_an_argon2id_hash(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    made = await make_identity(api)

    stored = await session.scalar(
        select(Identity.password_hash).where(Identity.login == made["login"])
    )

    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_mistakes_are_422_naming_the_field_and_a_taken_login_409(
    api: httpx.AsyncClient,
) -> None:
    login = unique("dup")
    await make_identity(api, login=login)

    bad_login = await api.post(IDENTITIES, json={"login": "Has Space"})
    short = await api.post(IDENTITIES, json={"login": unique("p"), "password": "short"})
    no_set = await api.post(
        IDENTITIES, json={"login": unique("s"), "permission_sets": ["observer", "no-such"]}
    )
    taken = await api.post(IDENTITIES, json={"login": login})
    short_patch = await api.patch(f"{IDENTITIES}/{login}", json={"password": "x"})
    missing = await api.patch(f"{IDENTITIES}/{unique('none')}", json={"enabled": False})

    assert (bad_login.status_code, bad_login.json()["error"]["details"]["field"]) == (422, "login")
    assert (short.status_code, short.json()["error"]["details"]["field"]) == (422, "password")
    assert no_set.status_code == 422
    assert no_set.json()["error"]["details"]["field"] == "permission_sets[1]"
    assert taken.status_code == 409
    assert short_patch.json()["error"]["details"]["field"] == "password"
    assert missing.status_code == 404


async def test_the_built_in_sets_are_seeded_and_marked(session: AsyncSession) -> None:
    rows = (await session.scalars(select(PermissionSet).where(PermissionSet.builtin))).all()

    assert {row.ref for row in rows} >= {"admin", "operator", "observer"}
    admin = next(row for row in rows if row.ref == "admin")
    assert admin.grants
    assert all("resource" in grant for grant in admin.grants)


async def test_the_last_enabled_admin_can_be_neither_disabled_nor_deleted(
    api: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    # The requests come from a manager of identities who is no admin, since every other
    # admin (the tests' own token's identity too) is disabled for the while.
    manager_set = unique("managers-")
    grants = [
        {"resource": "identity", "verbs": ["view", "create", "modify", "delete"]},
        # Handing out (and taking away) these sets.
        {"resource": "permission_set", "verbs": ["modify"], "refs": ["admin", "observer"]},
    ]
    made = await api.post("/api/v1/permission-sets", json={"name": manager_set, "grants": grants})
    assert made.status_code == 201, made.text
    manager = await make_identity(api, permission_sets=[manager_set])
    token = await api.post(f"{IDENTITIES}/{manager['login']}/tokens", json={})
    last = await make_identity(api, permission_sets=["admin"])
    # Every other admin holder disabled, so `last` is the only enabled one.
    frozen = await session.scalars(
        text(
            "UPDATE attune.identity SET frozen = true WHERE login <> :login AND NOT frozen "
            "AND id IN (SELECT identity_id FROM attune.permission_assignment a "
            "JOIN attune.permission_set s ON s.id = a.permission_set_id WHERE s.ref = 'admin')"
            " RETURNING id"
        ),
        {"login": last["login"]},
    )
    thawed = list(frozen)
    await session.commit()
    path = f"{IDENTITIES}/{last['login']}"
    try:
        async with api_client(settings, token=token.json()["token"]) as client:
            disabled = await client.patch(path, json={"enabled": False})
            stripped = await client.patch(path, json={"permission_sets": ["observer"]})
            deleted = await client.delete(path)
            second = await make_identity(client, permission_sets=["admin"])
            now_allowed = await client.patch(path, json={"enabled": False})
            shown = await client.get(path)
    finally:
        await session.execute(
            text("UPDATE attune.identity SET frozen = false WHERE id = ANY(:ids)"),
            {"ids": thawed},
        )
        await session.commit()

    for refused in (disabled, stripped, deleted):
        assert refused.status_code == 409, refused.text
        assert "last enabled identity holding the admin" in refused.json()["error"]["message"]
    assert shown.json()["enabled"] is False
    assert now_allowed.status_code == 200
    assert second["enabled"] is True


async def test_the_bootstrap_admin_holds_the_admin_set(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    login = unique("boot")

    await ensure_admin_token(create_session_factory(engine), tmp_path, login=login)

    assert (await api.get(f"{IDENTITIES}/{login}")).json()["permission_sets"] == ["admin"]
