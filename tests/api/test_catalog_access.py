"""Permissions on packs and their content, events and enforcements (D6): deny by default,
a 404 for what the caller may not view, a 403 naming what it may view but not change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune.config import Settings
from db.repositories import pack as packs
from tests.conftest import api_client
from tests.db.factories import make_sensor, unique
from tests.identities import make_identity, make_token
from tests.pack_folders import register_pack, write_pack

V1 = "/api/v1"
# Each pack's one component of each kind, by kind.
NAMES = {
    "actions": "work",
    "triggers": "alert",
    "rules": "always",
    "sensors": "poll",
    "policies": "paced",
}
KINDS = tuple(NAMES)
ClientFor = Callable[[list[Any]], AbstractAsyncContextManager[httpx.AsyncClient]]


@dataclass(frozen=True)
class Pack:
    """A registered pack with one of each component, an event and its enforcement."""

    ref: str
    event_id: int
    enforcement_id: int

    def item(self, kind: str) -> str:
        return f"{V1}/{kind}/{self.ref}.{NAMES[kind]}"


async def make_pack(
    api: httpx.AsyncClient, session: AsyncSession, root: Path, marker: str = "p"
) -> Pack:
    ref = unique(marker)
    folder = write_pack(
        root,
        ref,
        actions={"work": {"runner_type": "noop"}},
        triggers={"alert": {"type": "custom"}},
        rules={"always": {"trigger": f"{ref}.alert", "action": {"ref": f"{ref}.work"}}},
        policies={"paced": {"action": f"{ref}.work", "rate_limit": {"per_second": 100}}},
    )
    await register_pack(api, folder)
    await make_sensor(session, await packs.repository.get_by_key(session, ref), "poll")
    await session.commit()
    emitted = await api.post(f"{V1}/events", json={"trigger": f"{ref}.alert", "payload": {}})
    assert emitted.status_code == 202, emitted.text
    caused = emitted.json()
    return Pack(ref, caused["event_id"], caused["enforcement_ids"][0])


@pytest.fixture
async def pack_a(api: httpx.AsyncClient, session: AsyncSession, tmp_path: Path) -> Pack:
    return await make_pack(api, session, tmp_path, "pa")


@pytest.fixture
async def pack_b(api: httpx.AsyncClient, session: AsyncSession, tmp_path: Path) -> Pack:
    return await make_pack(api, session, tmp_path, "pb")


@pytest.fixture
def client_for(api: httpx.AsyncClient, settings: Settings) -> ClientFor:
    """A client for a new identity holding these sets (names, or grants for a custom set)."""

    @asynccontextmanager
    async def open_client(sets: list[Any]) -> AsyncIterator[httpx.AsyncClient]:
        names = []
        for wanted in sets:
            if isinstance(wanted, str):
                names.append(wanted)
                continue
            name = unique("set")
            made = await api.post(f"{V1}/permission-sets", json={"name": name, "grants": wanted})
            assert made.status_code == 201, made.text
            names.append(name)
        identity = await make_identity(api, permission_sets=names)
        token = await make_token(api, identity["login"])
        async with api_client(settings, token=str(token["token"])) as client:
            yield client

    return open_client


def reads(pack: Pack) -> list[str]:
    """Every read of the routers for one pack's items."""
    return [
        f"{V1}/packs/{pack.ref}",
        *(pack.item(kind) for kind in KINDS),
        f"{pack.item('actions')}/queue-stats",
        f"{V1}/events/{pack.event_id}",
        f"{V1}/enforcements/{pack.enforcement_id}",
    ]


def lists() -> list[str]:
    return [f"{V1}/{kind}" for kind in ("packs", *KINDS, "events", "enforcements")]


def writes(pack: Pack, folder: Path) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every write of the routers, aimed at one pack's items, and the permission it needs."""
    return [
        ("PATCH", pack.item("rules"), {"enabled": False}),
        ("POST", f"{pack.item('triggers')}/webhook-secret", None),
        (
            "POST",
            f"{V1}/policies",
            {"name": unique("n"), "action": f"{pack.ref}.work", "concurrency": {"limit": 1}},
        ),
        ("PATCH", pack.item("policies"), {"enabled": False}),
        ("DELETE", pack.item("policies"), None),
        ("POST", f"{V1}/events", {"trigger": f"{pack.ref}.alert", "payload": {}}),
        ("POST", f"{V1}/webhooks/{pack.ref}.alert", {}),
        ("POST", f"{V1}/packs/register", {"path": str(folder)}),
    ]


NEEDED = [
    "needs modify on rule",
    "needs modify on trigger",
    "needs create on policy",
    "needs modify on policy",
    "needs delete on policy",
    "needs create on event",
    "needs create on event",
    "needs create on pack",
]


async def send(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> httpx.Response:
    return await client.request(method, path, json=body)


def refusal(response: httpx.Response) -> str:
    assert response.status_code == 403, (response.request.url, response.text)
    message: str = response.json()["error"]["message"]
    return message


async def test_an_observer_reads_everything_and_writes_nothing(
    client_for: ClientFor, pack_a: Pack, tmp_path: Path
) -> None:
    async with client_for(["observer"]) as observer:
        for path in reads(pack_a) + lists():
            response = await observer.get(path)
            assert response.status_code == 200, (path, response.text)
        for (method, path, body), needed in zip(
            writes(pack_a, tmp_path / pack_a.ref), NEEDED, strict=True
        ):
            assert needed in refusal(await send(observer, method, path, body)), path
        upload = await observer.post(
            f"{V1}/packs/upload", content=b"", headers={"content-type": "application/gzip"}
        )
        assert "needs create on pack" in refusal(upload)


async def test_an_operator_changes_rules_but_not_policies(
    client_for: ClientFor, pack_a: Pack
) -> None:
    async with client_for(["operator"]) as operator:
        disabled = await operator.patch(pack_a.item("rules"), json={"enabled": False})
        policy = await operator.post(
            f"{V1}/policies",
            json={"name": "more", "action": f"{pack_a.ref}.work", "concurrency": {"limit": 1}},
        )

    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["enabled"] is False
    assert refusal(policy) == "permission denied: needs create on policy"


async def test_a_pack_scoped_caller_sees_its_pack_only(
    client_for: ClientFor, pack_a: Pack, pack_b: Pack, tmp_path: Path
) -> None:
    viewer = [
        {"resource": "pack", "verbs": ["view"], "refs": [pack_a.ref]},
        # Past the gate of PATCH /rules, so the rule itself decides.
        {"resource": "rule", "verbs": ["modify"], "packs": ["elsewhere"]},
    ]
    async with client_for([viewer]) as client:
        for kind in (*KINDS, "events", "enforcements"):
            listed = await client.get(f"{V1}/{kind}", params={"limit": 1000})
            assert listed.status_code == 200, listed.text
            owners = {_pack_of(kind, item) for item in listed.json()["items"]}
            assert owners == {pack_a.ref}, kind
        listed_packs = (await client.get(f"{V1}/packs")).json()["items"]
        assert [item["ref"] for item in listed_packs] == [pack_a.ref]

        for path in reads(pack_a):
            assert (await client.get(path)).status_code == 200, path
        for path in reads(pack_b):
            hidden = await client.get(path)
            assert hidden.status_code == 404, (path, hidden.text)
            assert hidden.json()["error"]["code"] == "not_found"

        # What it may view but not change: a 403 naming the permission and the item.
        rule = await client.patch(pack_a.item("rules"), json={"enabled": False})
        # ... and what it may not view is not found, as if it did not exist.
        other_rule = await client.patch(pack_b.item("rules"), json={"enabled": False})
    assert rule.status_code == 403
    assert rule.json()["error"]["message"] == (
        f"permission denied: needs modify on rule '{pack_a.ref}.always'"
    )
    assert other_rule.status_code == 404


async def test_a_hidden_item_answers_exactly_as_a_missing_one(
    client_for: ClientFor, pack_b: Pack
) -> None:
    viewer = [{"resource": "pack", "verbs": ["view"], "refs": ["elsewhere"]}]
    async with client_for([viewer]) as client:
        hidden = await client.get(pack_b.item("actions"))
        missing = await client.get(f"{V1}/actions/{pack_b.ref}.nothing")
        hidden_event = await client.get(f"{V1}/events/{pack_b.event_id}")
        missing_event = await client.get(f"{V1}/events/{2**62}")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"] == f"action '{pack_b.ref}.work' not found"
    assert hidden_event.json()["error"]["message"] == f"event {pack_b.event_id} not found"
    assert missing_event.status_code == 404


async def test_a_pack_scoped_operator_acts_on_its_pack_only(
    client_for: ClientFor, pack_a: Pack, pack_b: Pack
) -> None:
    grants = [
        {"resource": "pack", "verbs": ["view", "modify", "create"], "refs": [pack_a.ref]},
    ]
    async with client_for([grants]) as client:
        own_rule = await client.patch(pack_a.item("rules"), json={"enabled": False})
        own_event = await client.post(
            f"{V1}/events", json={"trigger": f"{pack_a.ref}.alert", "payload": {}}
        )
        other_event = await client.post(
            f"{V1}/events", json={"trigger": f"{pack_b.ref}.alert", "payload": {}}
        )
        own_policy = await client.post(
            f"{V1}/policies",
            json={"name": "more", "action": f"{pack_a.ref}.work", "concurrency": {"limit": 1}},
        )
        other_policy = await client.post(
            f"{V1}/policies",
            json={"name": "more", "action": f"{pack_b.ref}.work", "concurrency": {"limit": 1}},
        )

    assert own_rule.status_code == 200, own_rule.text
    assert own_event.status_code == 202, own_event.text
    assert (
        refusal(other_event) == f"permission denied: needs create on event of pack {pack_b.ref!r}"
    )
    assert own_policy.status_code == 201, own_policy.text
    assert other_policy.status_code == 404  # its action is hidden


async def test_an_identity_without_sets_is_refused_everywhere(
    client_for: ClientFor, pack_a: Pack, tmp_path: Path
) -> None:
    async with client_for([]) as nobody:
        for path in reads(pack_a) + lists():
            assert "permission denied" in refusal(await nobody.get(path)), path
        for method, path, body in writes(pack_a, tmp_path / pack_a.ref):
            assert "permission denied" in refusal(await send(nobody, method, path, body)), path


async def test_registering_a_pack_needs_create_and_modify_on_it(
    api: httpx.AsyncClient, client_for: ClientFor, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(tmp_path, ref, triggers={"hook": {"type": "webhook"}})
    creator = [{"resource": "pack", "verbs": ["create"], "refs": [ref]}]
    elsewhere = [{"resource": "pack", "verbs": ["create", "modify"], "refs": ["elsewhere"]}]

    async with client_for([elsewhere]) as stranger:
        refused = await stranger.post(f"{V1}/packs/register", json={"path": str(folder)})
    assert refusal(refused) == f"permission denied: needs create on pack {ref!r}"
    assert (await api.get(f"{V1}/packs/{ref}")).status_code == 404

    async with client_for([creator]) as client:
        first = await client.post(f"{V1}/packs/register", json={"path": str(folder)})
        again = await client.post(f"{V1}/packs/register", json={"path": str(folder)})
    assert first.status_code == 200, first.text
    assert refusal(again) == f"permission denied: needs modify on pack {ref!r}"


def _pack_of(kind: str, item: dict[str, Any]) -> str:
    """The pack of a listed item: its ref's, or for events and enforcements its cause's."""
    ref = {"events": "trigger_ref", "enforcements": "rule_ref"}.get(kind, "ref")
    return str(item[ref]).partition(".")[0]
