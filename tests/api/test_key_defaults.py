"""Keys in action parameter defaults: rendered when filled in, with the caller's own keys.

`default: "{{ st2kv.user.api_token }}"`, as StackStorm packs write it: a manual run reads
the caller's key; a rule has no user. A real worker runs the action (`tests.key_packs`).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.key_packs import a_secret, assert_nowhere, fire, key_pack, sha256
from tests.keys import login_of, of_user, put_key
from tests.pack_folders import register_pack

pytestmark = pytest.mark.usefixtures("worker")


async def test_a_manual_run_renders_template_defaults_with_the_callers_keys(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    settings: Settings,
    admin_token: str,
    tmp_path: Path,
) -> None:
    login, secret = await login_of(engine, admin_token), a_secret()
    token_name, region = unique("api_token"), unique("region")
    ref, folder = key_pack(
        tmp_path,
        parameters={
            "token": {
                "type": "string",
                "secret": True,
                "default": f"{{{{ st2kv.user.{token_name} | decrypt_kv }}}}",
            },
            "text": {"type": "string", "default": f"{{{{ keystore.user.{region} }}}}"},
            "port": {"type": "integer", "default": 22},
            "plain": {"type": "string", "default": "{{ keystore.pack.greeting }}"},
        },
    )
    await put_key(engine, settings, of_user(login, token_name), secret, encrypted=True)
    await put_key(engine, settings, of_user(login, region), "eu-west")
    await register_pack(api, folder)

    # A value the caller gives is data: its braces are not a template.
    literal = "{{ keystore.pack.greeting }}"
    response = await api.post(
        "/api/v1/executions", json={"action": f"{ref}.show", "parameters": {"plain": literal}}
    )

    assert response.status_code == 201, response.text
    execution = await wait_for_status(api, response.json()["id"])
    assert execution["status"] == "completed", execution
    assert execution["result"]["result"] == {
        "parameters": {"text": "eu-west", "port": 22, "plain": literal},
        "token_sha256": sha256(secret),
    }
    assert execution["parameters"]["token"] == "********"
    await assert_nowhere(engine, secret, execution=execution["id"])


async def test_a_template_default_refuses_keystore_user_to_a_rule_and_keys_to_plain_parameters(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    settings: Settings,
    admin_token: str,
    tmp_path: Path,
) -> None:
    login, secret, name = await login_of(engine, admin_token), a_secret(), unique("pw")
    ref, folder = key_pack(
        tmp_path,
        {"by_rule": {}},
        parameters={"text": {"type": "string", "default": f"{{{{ keystore.user.{name} }}}}"}},
    )
    await put_key(engine, settings, of_user(login, name), secret, encrypted=True)
    await register_pack(api, folder)

    by_rule = (await fire(api, ref))["by_rule"]["execution"]
    by_hand = await api.post("/api/v1/executions", json={"action": f"{ref}.show"})

    assert by_rule["status"] == "failed"
    assert by_rule["error"].startswith("the default of parameter text: keystore.user")
    assert "a rule has no user" in by_rule["error"]
    assert by_hand.status_code == 422, by_hand.text
    message = by_hand.json()["error"]["message"]
    assert f"key user[{login}]/{name} is encrypted" in message
    assert "parameter text" in message
    assert secret not in by_hand.text
