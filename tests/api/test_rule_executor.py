"""A rule runs its action as the identity that registered its pack, and the token its
action gets holds no more than that identity's grants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.auth.execution_tokens import mint_execution_token
from attune.config import Settings
from db.engine import create_session_factory
from db.models import ExecutionStatus
from tests.conftest import TEST_KEY_BYTES, api_client
from tests.db.factories import make_action, make_execution, make_pack, unique
from tests.identities import make_identity, make_token
from tests.keys import of_pack, put_key
from tests.pack_folders import write_pack

V1 = "/api/v1"
# Registers and runs packs, and reads their keys, but may not decrypt them.
REGISTRANTS: list[dict[str, Any]] = [
    {"resource": "pack", "verbs": ["view", "create", "modify", "execute"]}
]


async def identity_with(api: httpx.AsyncClient, grants: list[dict[str, Any]]) -> tuple[int, str]:
    name = unique("set-")
    made = await api.post(f"{V1}/permission-sets", json={"name": name, "grants": grants})
    assert made.status_code == 201, made.text
    identity = await make_identity(api, permission_sets=[name])
    token: str = (await make_token(api, identity["login"], label="test"))["token"]
    return int(identity["id"]), token


async def test_a_rules_executions_run_as_whoever_registered_its_pack(
    api: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    registrant_id, token = await identity_with(api, REGISTRANTS)
    ref = unique("ex")
    folder = write_pack(
        tmp_path,
        ref,
        triggers={"hook": {"type": "webhook"}},
        rules={"go": {"trigger": f"{ref}.hook", "action": {"ref": "core.noop"}}},
    )
    async with api_client(settings, token=token) as registrant:
        registered = await registrant.post(f"{V1}/packs/register", json={"path": str(folder)})
    assert registered.status_code == 200, registered.text

    fired = await api.post(f"{V1}/webhooks/{ref}.hook", json={})

    assert fired.status_code == 202, fired.text
    [execution_id] = fired.json()["execution_ids"]
    execution = (await api.get(f"{V1}/executions/{execution_id}")).json()
    assert execution["executor_id"] == registrant_id


async def test_an_actions_token_holds_no_more_than_its_executors_grants(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    registrant_id, _ = await identity_with(api, REGISTRANTS)
    admin = (await api.get(f"{V1}/whoami")).json()["login"]
    admin_id = (await api.get(f"{V1}/identities/{admin}")).json()["id"]
    async with create_session_factory(engine).begin() as session:
        pack = await make_pack(session)
        action = await make_action(session, pack)
        running = ExecutionStatus.RUNNING
        limited = await make_execution(session, action, status=running, executor_id=registrant_id)
        full = await make_execution(session, action, status=running, executor_id=admin_id)
    await put_key(engine, settings, of_pack(pack.ref, "db"), "hunter2", encrypted=True)
    path = f"{V1}/keys/pack/db"

    async with api_client(settings, token=mint_execution_token(TEST_KEY_BYTES, limited.id)) as it:
        read = await it.get(path, params={"pack": pack.ref})
        decrypted = await it.get(path, params={"pack": pack.ref, "decrypt": "true"})
    async with api_client(settings, token=mint_execution_token(TEST_KEY_BYTES, full.id)) as it:
        opened = await it.get(path, params={"pack": pack.ref, "decrypt": "true"})

    assert read.status_code == 200, read.text
    assert read.json()["value"] == "********"
    assert decrypted.status_code == 403, decrypted.text
    assert "needs decrypt on key" in decrypted.json()["error"]["message"]
    assert opened.status_code == 200, opened.text
    assert opened.json()["value"] == "hunter2"
