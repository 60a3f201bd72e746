"""Keys in rule templates, end to end: rule parameters and pack config read the key store.

A real worker runs the action (`tests.key_packs`), so each test sees what reached the
action and what the rows hold.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from db.engine import create_session_factory
from db.repositories import key as keys
from tests.db.factories import unique
from tests.key_packs import a_secret, assert_nowhere, fire, key_pack, sha256
from tests.keys import of_pack, put_key, system
from tests.pack_folders import register_pack

pytestmark = pytest.mark.usefixtures("worker")


async def test_rule_parameters_read_system_and_pack_keys_keeping_their_types(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    port, dotted, database = unique("port"), f"{unique('svc')}.name.v1", unique("db")
    ref, folder = key_pack(
        tmp_path,
        {
            "typed": {
                "port": f"{{{{ keystore.system.{port} }}}}",
                "text": f"{{{{ keystore.pack.greeting }}}} from "
                f"{{{{ keystore.system['{dotted}'] }}}} at "
                f"{{{{ keystore.system.{database}.host }}}}",
            }
        },
    )
    await put_key(engine, settings, system(port), 8080)
    await put_key(engine, settings, system(dotted), "svc")
    await put_key(engine, settings, system(database), {"host": "db-1"})
    await put_key(engine, settings, of_pack(ref, "greeting"), "hello")
    await register_pack(api, folder)

    ran = await fire(api, ref)

    execution = ran["typed"]["execution"]
    assert execution["status"] == "completed", execution
    expected = {"port": 8080, "text": "hello from svc at db-1"}
    assert execution["result"]["result"]["parameters"] == expected
    assert execution["parameters"] == expected
    assert ran["typed"]["enforcement"]["parameters"] == expected


async def test_an_encrypted_key_reaches_a_secret_parameter_and_no_row_holds_it(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="attune.audit")
    secret, name = a_secret(), unique("token")
    ref, folder = key_pack(
        tmp_path,
        {
            # StackStorm's spelling: st2kv and decrypt_kv.
            "st2": {
                "token": f"{{{{ st2kv.system.{name} | decrypt_kv }}}}",
                "plain": "{{ st2kv.pack.greeting }}",
            },
            "attune": {"token": f"Bearer {{{{ keystore.system.{name} }}}}"},
        },
    )
    await put_key(engine, settings, system(name), secret, encrypted=True)
    await put_key(engine, settings, of_pack(ref, "greeting"), "hi")
    await register_pack(api, folder)

    ran = await fire(api, ref)

    for rule, token in (("st2", secret), ("attune", f"Bearer {secret}")):
        execution, enforcement = ran[rule]["execution"], ran[rule]["enforcement"]
        assert execution["status"] == "completed", execution
        assert execution["result"]["result"]["token_sha256"] == sha256(token)
        assert execution["parameters"]["token"] == "********"
        assert enforcement["parameters"]["token"] == "********"
        await assert_nowhere(
            engine,
            secret,
            execution=execution["id"],
            enforcement=enforcement["id"],
            event=ran["event_id"],
        )
    assert ran["st2"]["execution"]["result"]["result"]["parameters"] == {"plain": "hi"}
    # Each decrypt a template made is audited, naming the rule that made it.
    audited = [record.getMessage() for record in caplog.records if record.name == "attune.audit"]
    for rule in ("st2", "attune"):
        assert any(
            f"key decrypted: system/{name} by identity 'rule:{ref}.{rule}'" in line
            for line in audited
        ), audited


async def test_an_encrypted_key_into_a_plain_parameter_is_refused_naming_both(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    secret, name = a_secret(), unique("password")
    ref, folder = key_pack(
        tmp_path,
        {
            "direct": {"plain": f"echo {{{{ keystore.system.{name} }}}}"},
            "typed": {"text": f"{{{{ st2kv.system.{name} | decrypt_kv }}}}"},
        },
    )
    await put_key(engine, settings, system(name), secret, encrypted=True)
    await register_pack(api, folder)

    ran = await fire(api, ref)

    for rule, parameter in (("direct", "plain"), ("typed", "text")):
        execution, enforcement = ran[rule]["execution"], ran[rule]["enforcement"]
        assert execution["status"] == "failed"
        error = enforcement["error"]
        assert f"parameter {parameter}:" in error
        assert f"key system/{name} is encrypted" in error
        assert "secret: true" in error
        assert execution["error"] == error
        assert secret not in error
        await assert_nowhere(
            engine,
            secret,
            execution=execution["id"],
            enforcement=enforcement["id"],
            event=ran["event_id"],
        )


async def test_pack_config_reads_keys_when_a_rule_reads_it(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    secret, password, host = a_secret(), unique("password"), unique("host")
    config = {
        "endpoint": f"https://{{{{ keystore.system.{host} }}}}/v1",
        "auth": {"password": f"{{{{ keystore.system.{password} }}}}"},
        "urls": {"api": f"https://{{{{ keystore.system.{host} }}}}/v1"},
    }
    ref, folder = key_pack(
        tmp_path,
        {
            "secret": {
                "token": "{{ pack.config.auth.password }}",
                "text": "{{ pack.config.endpoint }}",
            },
            "leaky": {"plain": "{{ pack.config.auth.password }}"},
            "dumped": {"text": "{{ pack.config.urls | tojson }}"},
        },
        config=config,
    )
    await put_key(engine, settings, system(host), "api.example")
    await put_key(engine, settings, system(password), secret, encrypted=True)
    await register_pack(api, folder)

    ran = await fire(api, ref)

    good = ran["secret"]["execution"]
    assert good["status"] == "completed", good
    assert good["result"]["result"]["token_sha256"] == sha256(secret)
    assert good["result"]["result"]["parameters"] == {"text": "https://api.example/v1"}
    dumped = ran["dumped"]["execution"]
    assert dumped["result"]["result"]["parameters"] == {"text": '{"api": "https://api.example/v1"}'}
    refused = ran["leaky"]["execution"]
    assert refused["status"] == "failed"
    assert "parameter plain: pack config auth password:" in refused["error"]
    assert f"key system/{password} is encrypted" in refused["error"]
    for rule in ("secret", "leaky"):
        await assert_nowhere(
            engine,
            secret,
            execution=ran[rule]["execution"]["id"],
            enforcement=ran[rule]["enforcement"]["id"],
        )


async def test_a_missing_expired_or_dynamically_named_key_fails_the_rule_by_name(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    missing, expired = unique("missing"), unique("expired")
    ref, folder = key_pack(
        tmp_path,
        {
            "missing": {"text": f"{{{{ keystore.system.{missing} }}}}"},
            "expired": {"text": f"{{{{ keystore.pack.{expired} }}}}"},
            "dynamic": {"text": "{{ keystore.system[trigger.name] }}"},
        },
    )
    async with create_session_factory(engine).begin() as session:
        await keys.repository.create(
            session,
            name=expired,
            owner_type=of_pack(ref, expired).owner_type,
            owner=ref,
            value="old",
            expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
    await register_pack(api, folder)

    ran = await fire(api, ref, {"name": missing})

    errors = {rule: ran[rule]["execution"]["error"] for rule in ("missing", "expired", "dynamic")}
    assert all(ran[rule]["execution"]["status"] == "failed" for rule in errors)
    assert errors["missing"] == f"parameter text: key system/{missing} not found"
    assert errors["expired"] == f"parameter text: key pack[{ref}]/{expired} not found"
    # A computed name is never quoted: it could have been made of a secret.
    assert "a key of keystore.system is not named literally" in errors["dynamic"]
    assert missing not in errors["dynamic"]
    assert "keystore.system['NAME']" in errors["dynamic"]


async def test_a_key_named_by_an_encrypted_key_does_not_quote_the_secret(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    secret, name, shaped = a_secret(), unique("pw"), unique("obj")
    await put_key(engine, settings, system(name), secret, encrypted=True)
    await put_key(engine, settings, system(shaped), {"pass": secret}, encrypted=True)
    ref, folder = key_pack(
        tmp_path,
        {
            "by_text": {"token": f"{{{{ keystore.system[keystore.system.{name}] }}}}"},
            "by_object": {"token": f"{{{{ keystore.system[keystore.system.{shaped}] }}}}"},
        },
    )
    await register_pack(api, folder)

    ran = await fire(api, ref)

    for rule in ("by_text", "by_object"):
        execution = ran[rule]["execution"]
        assert execution["status"] == "failed", execution
        assert execution["error"].startswith("parameter token: ")
        await assert_nowhere(
            engine,
            secret,
            execution=execution["id"],
            enforcement=ran[rule]["enforcement"]["id"],
        )
