"""Permissions on the runtime routes (D6): executions, inquiries, keys, the codec, and the
routes of identities, tokens, permission sets and the audit.

Each caller is made through the API (a permission set, an identity holding it, a token),
and each refusal is one a caller without enforcement would not meet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from temporalio.worker import Worker

from attune.config import Settings
from tests.conftest import api_client
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.inquiries import APPROVAL, start_ask

V1 = "/api/v1"


@asynccontextmanager
async def caller(
    api: httpx.AsyncClient,
    settings: Settings,
    *,
    sets: Sequence[str] = (),
    grants: list[dict[str, Any]] | None = None,
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """A new identity holding `sets` (and a new set of `grants`), and a client as it."""
    held = list(sets)
    if grants is not None:
        name = unique("set-")
        made = await api.post(f"{V1}/permission-sets", json={"name": name, "grants": grants})
        assert made.status_code == 201, made.text
        held.append(name)
    login = unique("who-")
    created = await api.post(f"{V1}/identities", json={"login": login, "permission_sets": held})
    assert created.status_code == 201, created.text
    token = await api.post(f"{V1}/identities/{login}/tokens", json={"label": "test"})
    assert token.status_code == 201, token.text
    async with api_client(settings, token=token.json()["token"]) as client:
        yield login, client


async def run(client: httpx.AsyncClient, action: str = "core.noop", **parameters: Any) -> Any:
    return await client.post(f"{V1}/executions", json={"action": action, "parameters": parameters})


async def test_an_operator_runs_cancels_answers_and_writes_keys_but_does_not_decrypt(
    api: httpx.AsyncClient, settings: Settings, worker: Worker
) -> None:
    async with caller(api, settings, sets=["operator"]) as (_login, operator):
        ran = await run(operator)
        assert ran.status_code == 201, ran.text
        await wait_for_status(operator, ran.json()["id"])

        _execution_id, inquiry = await start_ask(operator, ttl=60)
        answered = await operator.post(
            f"{V1}/inquiries/{inquiry['id']}/respond", json={"response": {"approve": True}}
        )
        assert answered.status_code == 200, answered.text

        waiting, _ = await start_ask(api, ttl=60)
        cancelled = await operator.post(f"{V1}/executions/{waiting}/cancel")
        assert cancelled.status_code == 202, cancelled.text

        name = unique("k")
        put = await operator.put(
            f"{V1}/keys/system/{name}", json={"value": "s3cret", "encrypted": True}
        )
        assert put.status_code == 201, put.text
        assert (await operator.get(f"{V1}/keys/system/{name}")).status_code == 200
        refused = await operator.get(f"{V1}/keys/system/{name}", params={"decrypt": "true"})
        assert refused.status_code == 403, refused.text
        assert "decrypt" in refused.json()["error"]["message"]
        opened = await api.get(f"{V1}/keys/system/{name}", params={"decrypt": "true"})
        assert opened.json()["value"] == "s3cret"


async def test_an_observer_sees_executions_but_cannot_run_cancel_or_answer(
    api: httpx.AsyncClient, settings: Settings, worker: Worker
) -> None:
    execution_id, inquiry = await start_ask(api, ttl=60)
    key = unique("observed")
    put = await api.put(f"{V1}/keys/pack/{key}", params={"pack": "core"}, json={"value": 1})
    assert put.status_code == 201, put.text
    async with caller(api, settings, sets=["observer"]) as (_, observer):
        # "Everything but keys": its view of packs does not pass down to their keys.
        assert (
            await observer.get(f"{V1}/keys/pack/{key}", params={"pack": "core"})
        ).status_code == 404
        listed_keys = await observer.get(f"{V1}/keys", params={"scope": "pack", "pack": "core"})
        assert key not in [item["name"] for item in listed_keys.json()["items"]]
        assert (await observer.get(f"{V1}/executions/{execution_id}")).status_code == 200
        listed = await observer.get(f"{V1}/executions", params={"action": "core.ask"})
        assert execution_id in [item["id"] for item in listed.json()["items"]]
        assert (await observer.get(f"{V1}/inquiries/{inquiry['id']}")).status_code == 200

        assert (await run(observer)).status_code == 403
        assert (await observer.post(f"{V1}/executions/{execution_id}/cancel")).status_code == 403
        assert (await observer.post(f"{V1}/executions/{execution_id}/re-run")).status_code == 403
        answer = {"response": {"approve": True}}
        respond = await observer.post(f"{V1}/inquiries/{inquiry['id']}/respond", json=answer)
        assert respond.status_code == 403, respond.text
    await api.post(f"{V1}/executions/{execution_id}/cancel")


async def test_a_pack_scoped_grant_sees_only_its_packs_executions_and_inquiries(
    api: httpx.AsyncClient, settings: Settings, worker: Worker
) -> None:
    execution_id, inquiry = await start_ask(api, ttl=60)
    view = ["view"]
    core = [{"resource": "execution", "verbs": view, "packs": ["core"]}]
    core.append({"resource": "inquiry", "verbs": view, "packs": ["core"]})
    other = [{**grant, "packs": ["elsewhere"]} for grant in core]
    async with caller(api, settings, grants=core) as (_, ours):
        listed = await ours.get(f"{V1}/executions", params={"action": "core.ask"})
        assert execution_id in [item["id"] for item in listed.json()["items"]]
        assert (await ours.get(f"{V1}/inquiries/{inquiry['id']}")).status_code == 200
        inquiries = await ours.get(f"{V1}/inquiries", params={"execution": execution_id})
        assert [item["id"] for item in inquiries.json()["items"]] == [inquiry["id"]]
    async with caller(api, settings, grants=other) as (_, theirs):
        listed = await theirs.get(f"{V1}/executions")
        assert listed.status_code == 200
        assert listed.json()["items"] == []
        assert (await theirs.get(f"{V1}/executions/{execution_id}")).status_code == 404
        assert (await theirs.get(f"{V1}/inquiries/{inquiry['id']}")).status_code == 404
        inquiries = await theirs.get(f"{V1}/inquiries", params={"execution": execution_id})
        assert inquiries.json()["items"] == []
    await api.post(f"{V1}/executions/{execution_id}/cancel")


async def test_an_operator_not_among_the_assignees_is_refused_and_one_among_them_answers(
    api: httpx.AsyncClient, settings: Settings, worker: Worker
) -> None:
    answer = {"response": {"approve": True}}
    async with (
        caller(api, settings, sets=["operator"]) as (login, assignee),
        caller(api, settings, sets=["operator"]) as (_, outsider),
        caller(api, settings, sets=["observer"]) as (_, observer),
    ):
        _, assigned = await start_ask(api, schema=APPROVAL, assignees=[login], ttl=60)
        path = f"{V1}/inquiries/{assigned['id']}/respond"
        assert (await outsider.post(path, json=answer)).status_code == 403
        assert (await assignee.post(path, json=answer)).status_code == 200

        _, open_to_all = await start_ask(api, ttl=60)
        path = f"{V1}/inquiries/{open_to_all['id']}/respond"
        # No assignees: any identity that may respond answers, but not one that may not.
        assert (await observer.post(path, json=answer)).status_code == 403
        assert (await outsider.post(path, json=answer)).status_code == 200


async def test_decrypt_needs_decrypt_and_own_user_keys_are_always_ones_own(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    name = unique("k")
    secret = {"value": "x", "encrypted": True}
    assert (await api.put(f"{V1}/keys/pack/{name}?pack=core", json=secret)).status_code == 201
    reader = [{"resource": "key", "verbs": ["view"], "packs": ["core"]}]
    decrypter = [{"resource": "key", "verbs": ["view", "decrypt"], "packs": ["core"]}]
    path = f"{V1}/keys/pack/{name}"
    async with caller(api, settings, grants=reader) as (_, client):
        assert (await client.get(path, params={"pack": "core"})).status_code == 200
        refused = await client.get(path, params={"pack": "core", "decrypt": "true"})
        assert refused.status_code == 403
    async with caller(api, settings, grants=decrypter) as (_, client):
        opened = await client.get(path, params={"pack": "core", "decrypt": "true"})
        assert opened.status_code == 200
        assert opened.json()["value"] == "x"
    async with caller(api, settings) as (login, nobody):
        own = f"{V1}/keys/user/{name}"
        assert (await nobody.put(own, json=secret)).status_code == 201
        opened = await nobody.get(own, params={"decrypt": "true"})
        assert opened.json()["value"] == "x"
        # Another's user key needs an unscoped key grant (admin's, or operator's).
        async with caller(api, settings, grants=reader) as (_, pack_reader):
            assert (await pack_reader.get(own, params={"user": login})).status_code == 404
        assert (await api.get(own, params={"user": login})).status_code == 200
        assert (await nobody.delete(own)).status_code == 204


async def test_the_audit_is_readable_by_admin_only(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    assert (await api.get(f"{V1}/audit")).status_code == 200
    async with caller(api, settings, sets=["operator", "observer"]) as (_, client):
        refused = await client.get(f"{V1}/audit")
        assert refused.status_code == 403
        assert refused.json()["error"]["details"] == {"resource": "audit", "verb": "view"}


async def test_an_identity_with_no_set_is_refused_everywhere_but_its_own(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    other = unique("who-")
    assert (await api.post(f"{V1}/identities", json={"login": other})).status_code == 201
    async with caller(api, settings) as (login, nobody):
        cases: list[tuple[str, str, dict[str, Any] | None]] = [
            ("GET", "/executions", None),
            ("POST", "/executions", {"action": "core.noop"}),
            ("GET", "/executions/1", None),
            ("POST", "/executions/1/cancel", None),
            ("POST", "/executions/1/re-run", None),
            ("GET", "/inquiries", None),
            ("GET", "/inquiries/1", None),
            ("POST", "/inquiries/1/respond", {"response": {}}),
            ("GET", "/identities", None),
            ("POST", "/identities", {"login": unique("who-")}),
            ("PATCH", f"/identities/{other}", {"display_name": "x"}),
            ("DELETE", f"/identities/{other}", None),
            ("GET", "/permission-sets", None),
            ("GET", "/permission-sets/admin", None),
            ("POST", "/permission-sets", {"name": unique("s-"), "grants": []}),
            ("GET", "/audit", None),
            ("POST", "/codec/decode", {"payloads": []}),
        ]
        for method, path, body in cases:
            response = await nobody.request(method, V1 + path, json=body)
            assert response.status_code == 403, (method, path, response.text)
        # Another's identity and tokens: as if they did not exist.
        assert (await nobody.get(f"{V1}/identities/{other}")).status_code == 404
        assert (await nobody.get(f"{V1}/identities/{other}/tokens")).status_code == 404
        assert (await nobody.get(f"{V1}/keys/system/{unique('k')}")).status_code == 404
        # Its own: whoami, its identity, its tokens, its user keys.
        assert (await nobody.get(f"{V1}/whoami")).status_code == 200
        assert (await nobody.get(f"{V1}/identities/{login}")).status_code == 200
        assert (await nobody.get(f"{V1}/identities/{login}/tokens")).status_code == 200
        assert (await nobody.get(f"{V1}/keys")).status_code == 200


async def test_the_codec_needs_a_view_of_every_execution(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    body: dict[str, Any] = {"payloads": []}
    assert (await api.post(f"{V1}/codec/decode", json=body)).status_code == 200
    scoped = [{"resource": "execution", "verbs": ["view"], "packs": ["core"]}]
    async with caller(api, settings, grants=scoped) as (_, client):
        for verb in ("decode", "encode"):
            refused = await client.post(f"{V1}/codec/{verb}", json=body)
            assert refused.status_code == 403, refused.text
    async with caller(api, settings, sets=["observer"]) as (_, observer):
        assert (await observer.post(f"{V1}/codec/decode", json=body)).status_code == 200


async def test_managing_identities_does_not_let_one_hand_out_sets_one_may_not_modify(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    managers = [{"resource": "identity", "verbs": ["view", "create", "modify"]}]
    async with caller(api, settings, grants=managers) as (login, manager):
        made = await manager.post(f"{V1}/identities", json={"login": unique("new-")})
        escalated = await manager.post(
            f"{V1}/identities", json={"login": unique("new-"), "permission_sets": ["admin"]}
        )
        # Keeping its own set, adding admin: only admin is handed out.
        own = (await api.get(f"{V1}/identities/{login}")).json()["permission_sets"]
        to_self = await manager.patch(
            f"{V1}/identities/{login}", json={"permission_sets": [*own, "admin"]}
        )

    assert made.status_code == 201, made.text
    for refused in (escalated, to_self):
        assert refused.status_code == 403, refused.text
        assert "needs modify on permission_set 'admin'" in refused.json()["error"]["message"]
    held = (await api.get(f"{V1}/identities/{login}")).json()["permission_sets"]
    assert "admin" not in held
