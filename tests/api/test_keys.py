"""The key-value store through the API: three scopes, the errors that name their field,
encrypted values that stay unreadable, audited decrypts, and keys that expire."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from attune.encryption_key import generate_encryption_key
from attune.keys.bounds import MAX_VALUE_BYTES
from attune.keys.values import MASK
from db.engine import create_session_factory
from db.repositories import identity as identities
from db.repositories import key as keys
from tests.attune.keys.stored import KEYS, field_of, put_key, raw_key, set_raw_value
from tests.conftest import api_client
from tests.db.factories import unique
from tests.pack_folders import register_pack, write_pack


@pytest.fixture
async def pack_ref(api: httpx.AsyncClient, tmp_path: Path) -> str:
    """A registered pack of this test's own."""
    ref = unique("pk")
    await register_pack(api, write_pack(tmp_path, ref))
    return ref


@pytest.fixture
async def other_login(engine: AsyncEngine) -> str:
    """The login of an identity besides the caller."""
    login = unique("someone")
    async with create_session_factory(engine).begin() as session:
        await identities.repository.create(session, login=login)
    return login


async def test_a_system_key_is_created_read_replaced_listed_and_deleted(
    api: httpx.AsyncClient,
) -> None:
    name = unique("sys")
    value = {"hosts": ["a", "b"], "port": 22}

    created = await put_key(api, f"system/{name}", value, description="deploy targets")
    replaced = await api.put(f"{KEYS}/system/{name}", json={"value": "v2"})
    read = await api.get(f"{KEYS}/system/{name}")
    listed = await api.get(KEYS, params={"scope": "system", "prefix": name})
    deleted = await api.delete(f"{KEYS}/system/{name}")

    assert created["value"] == value
    assert (created["scope"], created["owner"], created["name"]) == ("system", "", name)
    assert (created["description"], created["encrypted"], created["expires_at"]) == (
        "deploy targets",
        False,
        None,
    )
    assert replaced.status_code == 200, replaced.text
    # A put replaces the whole key: the description left out is gone.
    assert (replaced.json()["value"], replaced.json()["description"]) == ("v2", "")
    assert replaced.json()["created"] == created["created"]
    assert read.json()["value"] == "v2"
    assert [item["name"] for item in listed.json()["items"]] == [name]
    assert deleted.status_code == 204
    assert (await api.get(f"{KEYS}/system/{name}")).status_code == 404
    again = await api.delete(f"{KEYS}/system/{name}")
    assert again.status_code == 404
    assert f"system/{name}" in again.json()["error"]["message"]


async def test_a_pack_key_is_the_packs_own(api: httpx.AsyncClient, pack_ref: str) -> None:
    name = unique("pk")

    created = await put_key(api, f"pack/{name}", 42, params={"pack": pack_ref})

    assert (created["scope"], created["owner"], created["value"]) == ("pack", pack_ref, 42)
    read = await api.get(f"{KEYS}/pack/{name}", params={"pack": pack_ref})
    assert read.json()["value"] == 42
    assert (await api.get(f"{KEYS}/system/{name}")).status_code == 404
    listed = await api.get(KEYS, params={"pack": pack_ref})
    assert [(item["scope"], item["name"]) for item in listed.json()["items"]] == [("pack", name)]
    deleted = await api.delete(f"{KEYS}/pack/{name}", params={"pack": pack_ref})
    assert deleted.status_code == 204
    assert (await api.get(f"{KEYS}/pack/{name}", params={"pack": pack_ref})).status_code == 404


async def test_a_user_key_is_the_callers_unless_another_login_is_named(
    api: httpx.AsyncClient, other_login: str
) -> None:
    name = unique("uk")

    mine = await put_key(api, f"user/{name}", "mine")
    theirs = await put_key(api, f"user/{name}", "theirs", params={"user": other_login})

    assert mine["owner"].startswith("tester-")
    assert theirs["owner"] == other_login
    assert (await api.get(f"{KEYS}/user/{name}")).json()["value"] == "mine"
    by_login = await api.get(f"{KEYS}/user/{name}", params={"user": mine["owner"]})
    assert by_login.json()["value"] == "mine"
    their_read = await api.get(f"{KEYS}/user/{name}", params={"user": other_login})
    assert their_read.json()["value"] == "theirs"
    my_list = await api.get(KEYS, params={"scope": "user", "prefix": name})
    assert [item["value"] for item in my_list.json()["items"]] == ["mine"]
    assert (await api.delete(f"{KEYS}/user/{name}")).status_code == 204
    assert (await api.get(f"{KEYS}/user/{name}", params={"user": other_login})).status_code == 200


async def test_the_list_filters_by_scope_owner_and_prefix_and_pages(
    api: httpx.AsyncClient, pack_ref: str
) -> None:
    stem = unique("ls")
    for suffix in ("c", "a", "b"):
        await put_key(api, f"system/{stem}.{suffix}", suffix)
    await put_key(api, f"pack/{stem}.p", "p", params={"pack": pack_ref})
    await put_key(api, f"user/{stem}.u", "u")

    def names(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    everything = await api.get(KEYS, params={"prefix": stem})
    system = await api.get(KEYS, params={"scope": "system", "prefix": stem})
    packs = await api.get(KEYS, params={"scope": "pack", "prefix": stem})
    first = await api.get(KEYS, params={"scope": "system", "prefix": stem, "limit": 2})
    second = await api.get(
        KEYS, params={"scope": "system", "prefix": stem, "limit": 2, "offset": 2}
    )
    wildcard = await api.get(KEYS, params={"prefix": f"{stem[:-1]}_"})

    # In list order: system, then user (identity) and pack keys, each by name.
    assert names(everything) == [f"{stem}.{s}" for s in ("a", "b", "c", "u", "p")]
    assert names(system) == [f"{stem}.{s}" for s in ("a", "b", "c")]
    assert names(packs) == [f"{stem}.p"]
    assert (names(first), first.json()["next_offset"]) == ([f"{stem}.a", f"{stem}.b"], 2)
    assert (names(second), second.json()["next_offset"]) == ([f"{stem}.c"], None)
    # `_` in a prefix is an underscore, not a LIKE wildcard.
    assert names(wildcard) == []


async def test_the_same_name_in_each_scope_is_another_key(
    api: httpx.AsyncClient, pack_ref: str
) -> None:
    name = unique("same")
    await put_key(api, f"system/{name}", "s")
    await put_key(api, f"pack/{name}", "p", params={"pack": pack_ref})
    await put_key(api, f"user/{name}", "u")

    assert (await api.get(f"{KEYS}/system/{name}")).json()["value"] == "s"
    assert (await api.get(f"{KEYS}/pack/{name}", params={"pack": pack_ref})).json()["value"] == "p"
    assert (await api.get(f"{KEYS}/user/{name}")).json()["value"] == "u"


@pytest.mark.parametrize(
    ("path", "params", "body", "field", "words"),
    [
        ("team/{name}", {}, {"value": 1}, "path.scope", "'system', 'pack' or 'user'"),
        ("system/-bad", {}, {"value": 1}, "name", "a key name is"),
        ("system/pw%0A", {}, {"value": 1}, "name", "a key name is"),
        ("system/{name}", {"pack": "core"}, {"value": 1}, "pack", "has no pack owner"),
        ("system/{name}", {"user": "x"}, {"value": 1}, "user", "has no user owner"),
        ("pack/{name}", {}, {"value": 1}, "pack", "needs the pack's ref"),
        ("pack/{name}", {"pack": "core", "user": "x"}, {"value": 1}, "user", "no user owner"),
        ("pack/{name}", {"pack": "nosuchpack"}, {"value": 1}, "pack", "no pack 'nosuchpack'"),
        ("user/{name}", {"pack": "core"}, {"value": 1}, "pack", "has no pack owner"),
        ("user/{name}", {"user": "nobody-at-all"}, {"value": 1}, "user", "no identity"),
        ("user/{name}", {"user": ""}, {"value": 1}, "user", "empty"),
        ("system/{name}", {}, {"value": None}, "value", "must not be null"),
        ("system/{name}", {}, {}, "body.value", "Field required"),
        ("system/{name}", {}, {"value": 1, "secret": True}, "body.secret", "Extra inputs"),
        ("system/{name}", {}, {"value": 1, "ttl_seconds": 0}, "body.ttl_seconds", "greater"),
        ("system/{name}", {}, {"value": 1, "ttl_seconds": "soon"}, "body.ttl_seconds", "integer"),
        ("system/{name}", {}, {"value": 1, "ttl_seconds": 10**10}, "body.ttl_seconds", "less"),
        ("system/{name}", {}, {"value": {"a": "x\x00"}}, "body.value.a", "NUL"),
        ("system/{name}", {}, {"value": [math.nan]}, "value", "NaN"),
        ("system/{name}", {}, {"value": "x" * MAX_VALUE_BYTES}, "value", "bytes of JSON"),
        ("system/{name}", {}, {"value": 1, "description": "a\x00"}, "body.description", "NUL"),
    ],
)
async def test_a_bad_put_is_a_422_naming_the_field_and_stores_nothing(
    api: httpx.AsyncClient,
    path: str,
    params: dict[str, str],
    body: dict[str, Any],
    field: str,
    words: str,
) -> None:
    name = unique("bad")
    # json.dumps allows NaN, as a careless client's encoder would.
    content = json.dumps(body)

    response = await api.put(
        f"{KEYS}/{path.format(name=name)}",
        params=params,
        content=content,
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert field_of(response) == field
    assert words in response.json()["error"]["message"]
    assert (await api.get(KEYS, params={"prefix": name})).json()["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"scope": "team"}, "query.scope"),
        ({"scope": "system", "pack": "core"}, "pack"),
        ({"pack": "core", "user": "x"}, "user"),
        ({"prefix": "x" * 256}, "query.prefix"),
    ],
)
async def test_a_bad_list_filter_is_a_422_naming_it(
    api: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await api.get(KEYS, params=params)

    assert response.status_code == 422, response.text
    assert field_of(response) == field


async def test_an_encrypted_value_is_masked_everywhere_and_unreadable_in_the_database(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    name = unique("enc")
    secret = {"password": "hunter2-plaintext"}

    created = await put_key(api, f"system/{name}", secret, encrypted=True)
    read = await api.get(f"{KEYS}/system/{name}")
    listed = await api.get(KEYS, params={"prefix": name})
    row = await raw_key(engine, name)

    assert (created["value"], created["encrypted"]) == (MASK, True)
    assert read.json()["value"] == MASK
    assert [item["value"] for item in listed.json()["items"]] == [MASK]
    assert row is not None
    assert row["encrypted"] is True
    assert isinstance(row["value"], str)
    assert "hunter2" not in row["text"]
    assert "password" not in row["text"]


async def test_decrypt_true_shows_the_value_and_writes_the_audit_log(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    name = unique("enc")
    await put_key(api, f"system/{name}", {"password": "hunter2"}, encrypted=True)
    caplog.set_level(logging.INFO, logger="attune.audit")

    read = await api.get(f"{KEYS}/system/{name}", params={"decrypt": "true"})

    assert read.status_code == 200, read.text
    assert read.json()["value"] == {"password": "hunter2"}
    [record] = [r for r in caplog.records if r.name == "attune.audit"]
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert f"key decrypted: system/{name}" in message
    assert "by identity 'tester-" in message
    assert " at 20" in message  # an ISO timestamp: when it was read
    assert "hunter2" not in message


async def test_a_ciphertext_moved_to_another_key_does_not_decrypt(
    api: httpx.AsyncClient, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    source, target = unique("src"), unique("dst")
    await put_key(api, f"system/{source}", "the source's secret", encrypted=True)
    await put_key(api, f"system/{target}", "the target's secret", encrypted=True)
    row = await raw_key(engine, source)
    assert row is not None
    await set_raw_value(engine, target, row["text"])
    caplog.set_level(logging.INFO, logger="attune.audit")

    moved = await api.get(f"{KEYS}/system/{target}", params={"decrypt": "true"})

    assert moved.status_code == 409, moved.text
    assert "cannot be decrypted" in moved.json()["error"]["message"]
    assert "the source's secret" not in moved.text
    [record] = [r for r in caplog.records if r.name == "attune.audit"]
    assert (record.levelno, f"key decrypt failed: system/{target}" in record.getMessage()) == (
        logging.WARNING,
        True,
    )
    still = await api.get(f"{KEYS}/system/{source}", params={"decrypt": "true"})
    assert still.json()["value"] == "the source's secret"


@pytest.fixture
async def keyless_api(settings: Settings, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a process started without ATTUNE_ENCRYPTION_KEY."""
    async with api_client(
        settings.model_copy(update={"encryption_key": None}), token=admin_token
    ) as client:
        yield client


async def test_encrypting_or_decrypting_without_a_key_is_a_503_naming_the_setting(
    api: httpx.AsyncClient, keyless_api: httpx.AsyncClient
) -> None:
    name = unique("nokey")
    stored = unique("stored")
    await put_key(api, f"system/{stored}", "s", encrypted=True)

    refused = await keyless_api.put(f"{KEYS}/system/{name}", json={"value": 1, "encrypted": True})
    plain = await keyless_api.put(f"{KEYS}/system/{name}", json={"value": 1})
    masked = await keyless_api.get(f"{KEYS}/system/{stored}")
    unreadable = await keyless_api.get(f"{KEYS}/system/{stored}", params={"decrypt": "true"})

    assert refused.status_code == 503
    assert "ATTUNE_ENCRYPTION_KEY" in refused.json()["error"]["message"]
    assert plain.status_code == 201, plain.text
    assert masked.json()["value"] == MASK
    assert unreadable.status_code == 503
    assert "ATTUNE_ENCRYPTION_KEY" in unreadable.json()["error"]["message"]


async def test_a_value_under_a_previous_key_still_decrypts(
    settings: Settings, admin_token: str, api: httpx.AsyncClient
) -> None:
    name = unique("old")
    await put_key(api, f"system/{name}", "under the old key", encrypted=True)
    rotated = settings.model_copy(
        update={
            "encryption_key": SecretStr(generate_encryption_key()),
            "previous_encryption_keys": (settings.encryption_key,),
        }
    )

    async with api_client(rotated, token=admin_token) as after_rotation:
        read = await after_rotation.get(f"{KEYS}/system/{name}", params={"decrypt": "true"})
    async with api_client(
        rotated.model_copy(update={"previous_encryption_keys": ()}), token=admin_token
    ) as new_key_only:
        refused = await new_key_only.get(f"{KEYS}/system/{name}", params={"decrypt": "true"})

    assert read.json()["value"] == "under the old key"
    assert refused.status_code == 409


async def test_a_key_past_its_ttl_is_absent_and_then_deleted(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    name = unique("ttl")
    created = await put_key(api, f"system/{name}", "brief", ttl_seconds=1)
    assert created["expires_at"] is not None
    assert (await api.get(f"{KEYS}/system/{name}")).status_code == 200

    await asyncio.sleep(1.2)

    assert (await api.get(f"{KEYS}/system/{name}")).status_code == 404
    assert (await api.get(KEYS, params={"prefix": name})).json()["items"] == []
    assert (await api.delete(f"{KEYS}/system/{name}")).status_code == 404
    assert await raw_key(engine, name) is not None  # absent to reads, still in the table
    async with create_session_factory(engine).begin() as session:
        await keys.delete_expired(session)
    assert await raw_key(engine, name) is None


async def test_putting_an_expired_key_again_creates_it_and_a_put_without_ttl_keeps_it(
    api: httpx.AsyncClient,
) -> None:
    name = unique("ttl")
    await put_key(api, f"system/{name}", "first", ttl_seconds=1)
    await asyncio.sleep(1.2)

    again = await put_key(api, f"system/{name}", "second", ttl_seconds=60)
    forever = await api.put(f"{KEYS}/system/{name}", json={"value": "third"})

    assert again["value"] == "second"
    assert forever.status_code == 200
    assert forever.json()["expires_at"] is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", KEYS),
        ("PUT", f"{KEYS}/system/k"),
        ("GET", f"{KEYS}/system/k"),
        ("DELETE", f"{KEYS}/system/k"),
    ],
)
async def test_every_key_route_refuses_a_caller_without_a_token(
    anonymous_api: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await anonymous_api.request(method, path, json={"value": 1})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
