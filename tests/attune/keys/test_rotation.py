"""Key rotation against the real PostgreSQL: every kind of secret at rest re-encrypted, an
interrupted run that loses nothing, and rows no key opens reported and left alone.

The database is shared with every other test, whose secrets are under the session's key.
Each test here rotates from a key of its own to another, so those rows open with neither:
they are reported unreadable and left unchanged, and the assertions look at its own rows.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from attune.config import Settings
from attune.crypto import SecretDecryptionError, decrypt_secret, encrypt_secret
from attune.encryption_key import generate_encryption_key
from attune.engine.secret_parameters import seal, unsealed_parameters
from attune.keys import store
from attune.keys.addresses import KeyAddress, Scope
from attune.keys.rotation import TableTally, rotate_secrets
from attune.keys.values import open_value
from db.engine import create_session_factory
from db.models import Execution, ExecutionStatus, Trigger
from db.repositories import key as keys
from tests.attune.keys.stored import raw_key
from tests.conftest import api_client
from tests.db.factories import make_execution, make_trigger, unique
from tests.pack_folders import register_pack, write_pack
from tests.webhooks import signed_headers


def new_key() -> bytes:
    return base64.urlsafe_b64decode(generate_encryption_key())


@dataclass
class Secrets:
    """Rows of one test sealed under its `old` key: three keys, a webhook secret and an
    execution's secret parameters."""

    old: bytes
    new: bytes
    key_names: list[str]
    trigger_id: int
    execution_id: int


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def secrets(sessions: async_sessionmaker[AsyncSession]) -> Secrets:
    old, new = new_key(), new_key()
    names = [f"{unique('rot')}-{index}" for index in range(3)]
    async with sessions.begin() as session:
        for name in names:
            await store.put_key(
                session, system(name), value={"name": name}, encrypted=True, encryption_key=old
            )
        trigger = await make_trigger(session, webhook_secret=encrypt_secret(old, "whsec"))
        execution = await make_execution(session, status=ExecutionStatus.COMPLETED)
        execution.secret_parameters = seal(old, execution.id, {"password": "pw"})
    return Secrets(old, new, names, trigger.id, execution.id)


def system(name: str) -> KeyAddress:
    return KeyAddress(Scope.SYSTEM, "", name)


async def plaintexts(
    sessions: async_sessionmaker[AsyncSession], secrets: Secrets, key: bytes
) -> dict[str, object]:
    """What each of the test's rows opens to with `key` alone; `None` where it does not."""
    opened: dict[str, object] = {}
    async with sessions() as session:
        for name in secrets.key_names:
            row = await keys.find_by_name(session, name=name)
            assert row is not None
            opened[name] = _opened(open_value, [key], system(name), row.value)
        trigger = await session.get(Trigger, secrets.trigger_id)
        execution = await session.get(Execution, secrets.execution_id)
    assert trigger is not None
    assert execution is not None
    opened["webhook"] = _opened(decrypt_secret, key, trigger.webhook_secret)
    opened["execution"] = _opened(
        unsealed_parameters, key, secrets.execution_id, {}, execution.secret_parameters
    )
    return opened


def _opened(open_it: Callable[..., object], *arguments: object) -> object:
    try:
        return open_it(*arguments)
    except SecretDecryptionError:
        return None


def expected(secrets: Secrets) -> dict[str, object]:
    values: dict[str, object] = {name: {"name": name} for name in secrets.key_names}
    return values | {"webhook": "whsec", "execution": {"password": "pw"}}


async def test_a_rotation_reencrypts_keys_webhook_secrets_and_execution_secrets(
    sessions: async_sessionmaker[AsyncSession], secrets: Secrets
) -> None:
    before = await plaintexts(sessions, secrets, secrets.old)

    report = await rotate_secrets(sessions, (secrets.new, secrets.old), batch_size=2)

    assert before == expected(secrets)
    assert await plaintexts(sessions, secrets, secrets.new) == expected(secrets)
    assert set((await plaintexts(sessions, secrets, secrets.old)).values()) == {None}
    assert report.finished
    assert [tally.table for tally in report.tallies] == ["key", "trigger", "execution"]
    assert all(tally.reencrypted >= 1 for tally in report.tallies)
    ours = {("trigger", secrets.trigger_id), ("execution", secrets.execution_id)}
    assert not ours & set(report.unreadable)


async def test_a_second_run_recognises_the_rotated_rows_and_leaves_them(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, secrets: Secrets
) -> None:
    await rotate_secrets(sessions, (secrets.new, secrets.old))
    rotated = await raw_key(engine, secrets.key_names[0])

    again = await rotate_secrets(sessions, (secrets.new, secrets.old))

    assert again.reencrypted == 0
    assert again.current >= 5
    assert await raw_key(engine, secrets.key_names[0]) == rotated


async def test_an_interrupted_rotation_loses_nothing_and_a_second_run_finishes(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, secrets: Secrets
) -> None:
    first = await raw_key(engine, secrets.key_names[0])
    assert first is not None

    def interrupt(tally: TableTally, last_id: int) -> None:
        # Stop right after the batch holding the test's first key commits.
        if tally.table == "key" and last_id >= first["id"]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await rotate_secrets(sessions, (secrets.new, secrets.old), batch_size=1, on_batch=interrupt)

    under_new = await plaintexts(sessions, secrets, secrets.new)
    under_old = await plaintexts(sessions, secrets, secrets.old)
    name, *rest = secrets.key_names
    assert (under_new[name], under_old[name]) == ({"name": name}, None)
    # The rest are untouched, and every row opens with one key or the other.
    assert all(under_new[other] is None for other in [*rest, "webhook", "execution"])
    merged = {row: under_new[row] or under_old[row] for row in under_new}
    assert merged == expected(secrets)

    report = await rotate_secrets(sessions, (secrets.new, secrets.old), batch_size=1)

    assert report.finished
    assert await plaintexts(sessions, secrets, secrets.new) == expected(secrets)


async def test_limit_batches_stops_early_and_a_full_run_completes(
    sessions: async_sessionmaker[AsyncSession], secrets: Secrets
) -> None:
    stopped = await rotate_secrets(
        sessions, (secrets.new, secrets.old), batch_size=1, limit_batches=1
    )

    assert not stopped.finished
    assert sum(tally.done for tally in stopped.tallies) == 1
    ring_opens = await plaintexts(sessions, secrets, secrets.old)
    fresh = await plaintexts(sessions, secrets, secrets.new)
    assert {row: ring_opens[row] or fresh[row] for row in fresh} == expected(secrets)

    finished = await rotate_secrets(sessions, (secrets.new, secrets.old))

    assert finished.finished
    assert await plaintexts(sessions, secrets, secrets.new) == expected(secrets)


async def test_a_row_no_key_opens_is_reported_and_left_unchanged(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, secrets: Secrets
) -> None:
    stranger = unique("stranger")
    async with sessions.begin() as session:
        await store.put_key(
            session, system(stranger), value="lost", encrypted=True, encryption_key=new_key()
        )
    before = await raw_key(engine, stranger)
    assert before is not None

    report = await rotate_secrets(sessions, (secrets.new, secrets.old))

    assert ("key", before["id"]) in report.unreadable
    assert await raw_key(engine, stranger) == before
    assert await plaintexts(sessions, secrets, secrets.new) == expected(secrets)


async def test_expired_keys_are_rotated_too(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, secrets: Secrets
) -> None:
    name = unique("expired")
    async with sessions.begin() as session:
        await store.put_key(
            session, system(name), value="old", encrypted=True, encryption_key=secrets.old
        )
        # Expired but not yet deleted: still ciphertext under the old key in the table.
        row = await keys.find_by_name(session, name=name)
        assert row is not None
        row.expires_at = row.created
    await rotate_secrets(sessions, (secrets.new, secrets.old))

    stored = await raw_key(engine, name)

    assert stored is not None
    assert open_value([secrets.new], system(name), stored["value"]) == "old"


async def test_a_webhook_secret_under_the_old_key_verifies_before_and_after_rotation(
    settings: Settings,
    admin_token: str,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    ref = unique("wh")
    old, new = generate_encryption_key(), generate_encryption_key()
    folder = write_pack(tmp_path, ref, triggers={"hook": {"type": "webhook"}})
    before = settings.model_copy(update={"encryption_key": SecretStr(old)})
    half_done = before.model_copy(
        update={"encryption_key": SecretStr(new), "previous_encryption_keys": (SecretStr(old),)}
    )
    new_only = half_done.model_copy(update={"previous_encryption_keys": ()})
    async with api_client(before, token=admin_token) as api:
        await register_pack(api, folder)
        response = await api.post(f"/api/v1/triggers/{ref}.hook/webhook-secret")
        secret = response.json()["secret"]

    async def deliver(settings: Settings, body: bytes) -> httpx.Response:
        async with api_client(settings) as anonymous:
            return await anonymous.post(
                f"/api/v1/webhooks/{ref}.hook", content=body, headers=signed_headers(secret, body)
            )

    # The new key running, the secret still under the old one: the ring opens it.
    assert (await deliver(half_done, b'{"n": 1}')).status_code == 202
    ring = (base64.urlsafe_b64decode(new), base64.urlsafe_b64decode(old))
    await rotate_secrets(sessions, ring)
    assert (await deliver(new_only, b'{"n": 2}')).status_code == 202
    # A key missing from the ring is the operator's to fix: said so, and never a 500.
    stranger = new_only.model_copy(update={"encryption_key": SecretStr(generate_encryption_key())})
    refused = await deliver(stranger, b'{"n": 3}')
    assert refused.status_code == 409, refused.text
    assert "webhook secret cannot be read" in refused.json()["error"]["message"]


async def test_a_pack_key_is_rotated_with_its_own_sealing_context(
    sessions: async_sessionmaker[AsyncSession], secrets: Secrets
) -> None:
    address = KeyAddress(Scope.PACK, "core", unique("packkey"))
    async with sessions.begin() as session:
        await store.put_key(
            session, address, value=[1, 2], encrypted=True, encryption_key=secrets.old
        )
    await rotate_secrets(sessions, (secrets.new, secrets.old))

    async with sessions() as session:
        stored = await keys.find_by_name(
            session, name=address.name, owner_type=address.owner_type, owner="core"
        )
    assert stored is not None
    assert open_value([secrets.new], address, stored.value) == [1, 2]
