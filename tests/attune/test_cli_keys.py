"""`attune key ...`, run as a person runs it: the CLI in a process of its own, against a real
API server (and, for `rotate`, the real database)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.encryption_key import generate_encryption_key
from attune.keys import store
from attune.keys.addresses import KeyAddress, Scope
from attune.keys.values import MASK, open_value
from db.engine import create_session_factory
from tests.attune import test_cli_inquiries
from tests.attune.keys.stored import KEYS, raw_key
from tests.attune.test_cli_inquiries import Ran, RunAttune, run_cli
from tests.db.factories import unique

api_url = test_cli_inquiries.api_url
attune = test_cli_inquiries.attune


async def test_set_get_list_and_delete_a_key(api: httpx.AsyncClient, attune: RunAttune) -> None:
    name = unique("cli")

    set_ = await attune("key", "set", name, "hello world", "--description", "greeting")
    got = await attune("key", "get", name)
    as_json = await attune("key", "set", f"{name}.j", '{"port": 22}', "--json")
    got_json = await attune("key", "get", f"{name}.j", "-o", "json")
    listed = await attune("key", "list", "--prefix", name)
    deleted = await attune("key", "delete", name)
    gone = await attune("key", "get", name)

    assert (set_.code, set_.stdout.strip()) == (0, f"key system/{name} set"), set_.stderr
    assert (got.code, got.stdout) == (0, "hello world\n")
    assert as_json.code == 0, as_json.stderr
    assert json.loads(got_json.stdout)["value"] == {"port": 22}
    assert listed.stdout.splitlines() == [
        f"system/{name}  hello world",
        f'system/{name}.j  {{"port": 22}}',
    ]
    assert (deleted.code, deleted.stdout.strip()) == (0, f"key system/{name} deleted")
    assert gone.code == 1
    assert "HTTP 404" in gone.stderr
    assert (await api.get(f"{KEYS}/system/{name}.j")).json()["description"] == ""


async def test_an_encrypted_key_is_masked_unless_decrypted(attune: RunAttune) -> None:
    name = unique("cli")

    set_ = await attune("key", "set", name, "p4ss", "--encrypt", "--ttl", "600")
    masked = await attune("key", "get", name)
    listed = await attune("key", "list", "--scope", "system", "--prefix", name)
    decrypted = await attune("key", "get", name, "--decrypt")

    assert set_.stdout.strip() == f"key system/{name} set (encrypted)"
    assert masked.stdout.strip() == MASK
    assert listed.stdout.startswith(f"system/{name}  {MASK}  expires 20")
    assert decrypted.stdout.strip() == "p4ss"


async def test_pack_and_user_keys(api: httpx.AsyncClient, attune: RunAttune) -> None:
    name = unique("cli")

    in_pack = await attune("key", "set", name, "p", "--scope", "pack", "--pack", "core")
    mine = await attune("key", "set", name, "u", "--scope", "user")
    read = await attune("key", "get", name, "--scope", "pack", "--pack", "core")
    users = await attune("key", "list", "--scope", "user", "--prefix", name)
    removed = await attune("key", "delete", name, "--scope", "pack", "--pack", "core")

    assert in_pack.stdout.strip() == f"key pack[core]/{name} set"
    assert mine.stdout.strip().startswith("key user[tester-")
    assert read.stdout.strip() == "p"
    assert [line.split()[-1] for line in users.stdout.splitlines()] == ["u"]
    assert removed.code == 0, removed.stderr
    assert (await api.get(f"{KEYS}/pack/{name}", params={"pack": "core"})).status_code == 404


async def test_mistakes_print_the_apis_message_and_exit_non_zero(attune: RunAttune) -> None:
    name = unique("cli")

    no_pack = await attune("key", "set", name, "v", "--scope", "pack")
    bad_name = await attune("key", "set", "has space", "v")
    not_json = await attune("key", "set", name, "{oops", "--json")
    bad_scope = await attune("key", "get", name, "--scope", "team")

    assert no_pack.code == 1
    assert "HTTP 422" in no_pack.stderr
    assert "pack: a pack key needs the pack's ref" in no_pack.stderr
    assert bad_name.code == 1
    assert "name: a key name is" in bad_name.stderr
    assert not_json.code == 2
    assert "VALUE is not JSON" in not_json.stderr
    assert bad_scope.code == 2
    assert (await attune("key", "get", name)).code == 1


ST2_FILE = """
- name: {stem}.token
  value: s3cr3t
  scope: st2kv.system
  secret: true
  ttl: 3600
  description: the vendor's token
- name: {stem}.hosts
  value: [a, b]
  scope: system
- name: {stem}.mine
  value: {{theme: dark}}
  scope: st2kv.user
- name: {stem}.endpoint
  value: https://example.com
  scope: pack
  pack: core
"""


async def test_load_takes_a_stackstorm_yaml_file(
    api: httpx.AsyncClient, attune: RunAttune, tmp_path: Path
) -> None:
    stem = unique("st2")
    path = tmp_path / "keys.yaml"
    path.write_text(ST2_FILE.format(stem=stem))

    loaded = await attune("key", "load", str(path))

    assert loaded.code == 0, loaded.stderr
    assert loaded.stdout.splitlines()[-1] == f"loaded 4 key(s) from {path}"
    token = (await api.get(f"{KEYS}/system/{stem}.token", params={"decrypt": "true"})).json()
    assert (token["value"], token["encrypted"]) == ("s3cr3t", True)
    assert token["description"] == "the vendor's token"
    assert token["expires_at"] is not None
    assert (await api.get(f"{KEYS}/system/{stem}.hosts")).json()["value"] == ["a", "b"]
    assert (await api.get(f"{KEYS}/user/{stem}.mine")).json()["value"] == {"theme": "dark"}
    endpoint = await api.get(f"{KEYS}/pack/{stem}.endpoint", params={"pack": "core"})
    assert endpoint.json()["value"] == "https://example.com"


async def test_load_takes_one_json_object(
    api: httpx.AsyncClient, attune: RunAttune, tmp_path: Path
) -> None:
    name = unique("json")
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"name": name, "value": 7, "encrypt": True}))

    loaded = await attune("key", "load", str(path))

    assert loaded.code == 0, loaded.stderr
    read = await api.get(f"{KEYS}/system/{name}", params={"decrypt": "true"})
    assert (read.json()["value"], read.json()["encrypted"]) == (7, True)


async def test_load_refuses_stackstorm_ciphertext_and_loads_nothing(
    api: httpx.AsyncClient, attune: RunAttune, tmp_path: Path
) -> None:
    stem = unique("st2")
    path = tmp_path / "keys.yaml"
    path.write_text(
        f"- {{name: {stem}.first, value: fine}}\n"
        f"- {{name: {stem}.second, value: AAE2F3, secret: true, encrypted: true}}\n"
    )

    refused = await attune("key", "load", str(path))

    assert refused.code == 1
    assert "encrypted: true" in refused.stderr
    assert "only StackStorm can open" in refused.stderr
    assert (await api.get(KEYS, params={"prefix": stem})).json()["items"] == []


async def test_load_stops_at_a_refused_key_and_says_how_far_it_got(
    attune: RunAttune, tmp_path: Path
) -> None:
    stem = unique("st2")
    path = tmp_path / "keys.yaml"
    path.write_text(
        f"- {{name: {stem}.first, value: fine}}\n"
        f"- {{name: {stem}.second, value: x, scope: pack, pack: nosuchpack}}\n"
    )

    refused = await attune("key", "load", str(path))

    assert refused.code == 1
    assert "HTTP 422" in refused.stderr
    assert "1 of 2 loaded before it" in refused.stderr


async def rotate(database_url: str, tmp_path: Path, current: str | None, previous: str) -> Ran:
    """`attune key rotate` with its own settings: the database and the keys (no current key
    when `current` is None)."""
    environment = {
        **os.environ,
        "ATTUNE_DATABASE_URL": database_url,
        "ATTUNE_PREVIOUS_ENCRYPTION_KEYS": previous,
        "ATTUNE_DATA_DIR": str(tmp_path / "rotate"),
    }
    environment.pop("ATTUNE_ENCRYPTION_KEY", None)
    if current is not None:
        environment["ATTUNE_ENCRYPTION_KEY"] = current
    return await run_cli(environment, "key", "rotate", "--batch-size", "2")


async def test_rotate_reencrypts_reports_progress_and_the_rows_no_key_opens(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    old, new, stranger = (generate_encryption_key() for _ in range(3))
    rotated, lost = unique("rot"), unique("lost")
    async with create_session_factory(engine).begin() as session:
        for name, key in ((rotated, old), (lost, stranger)):
            await store.put_key(
                session,
                KeyAddress(Scope.SYSTEM, "", name),
                value={"of": name},
                encrypted=True,
                encryption_key=base64.urlsafe_b64decode(key),
            )
    lost_row = await raw_key(engine, lost)
    assert lost_row is not None

    ran = await rotate(database_url, tmp_path, new, old)

    # Other tests' secrets, under the session's key, open with neither: exit 1 either way.
    assert ran.code == 1, ran.stderr
    assert any(
        line.startswith("key: ") and "re-encrypted" in line for line in ran.stdout.splitlines()
    )
    assert ran.stdout.splitlines()[-1].startswith("rotated: ")
    assert f"key {lost_row['id']}: no key opens it; left unchanged" in ran.stderr
    assert await raw_key(engine, lost) == lost_row
    stored = await raw_key(engine, rotated)
    assert stored is not None
    address = KeyAddress(Scope.SYSTEM, "", rotated)
    assert open_value([base64.urlsafe_b64decode(new)], address, stored["value"]) == {"of": rotated}


async def test_rotate_without_a_current_key_exits_2_naming_the_setting(
    database_url: str, tmp_path: Path
) -> None:
    ran = await rotate(database_url, tmp_path, None, generate_encryption_key())

    assert ran.code == 2
    assert "ATTUNE_ENCRYPTION_KEY" in ran.stderr
