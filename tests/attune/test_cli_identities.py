"""`attune login|logout|whoami|identity|token`, run as a person runs them: the CLI in a
process of its own against a real API server, with a config directory of the test's own."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import httpx
import pytest

from tests.attune import test_cli_inquiries
from tests.attune.test_cli_inquiries import Ran, RunAttune
from tests.db.factories import unique
from tests.identities import IDENTITIES, PASSWORD, make_identity

api_url = test_cli_inquiries.api_url
attune = test_cli_inquiries.attune


@pytest.fixture
def person(api_url: str, tmp_path: Path) -> RunAttune:
    """The CLI with no ATTUNE_API_TOKEN: it uses what `attune login` stored."""

    async def run(*arguments: str, stdin: str = "") -> Ran:
        environment = {key: value for key, value in os.environ.items() if key != "ATTUNE_API_TOKEN"}
        environment |= {
            "ATTUNE_API_URL": api_url,
            "ATTUNE_DATA_DIR": str(tmp_path / "no-data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "attune",
            *arguments,
            env=environment,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # no controlling terminal: the password comes from stdin
        )
        stdout, stderr = await process.communicate(stdin.encode())
        assert process.returncode is not None
        return Ran(process.returncode, stdout.decode(), stderr.decode())

    return run


async def test_login_stores_a_private_token_that_later_commands_use(
    api: httpx.AsyncClient, person: RunAttune, tmp_path: Path
) -> None:
    made = await make_identity(api, permission_sets=["observer"])

    logged_in = await person("login", "--login", made["login"], stdin=PASSWORD + "\n")
    token_file = tmp_path / "config" / "attune" / "token"
    me = await person("whoami")
    out = await person("logout")
    after = await person("whoami")

    assert logged_in.code == 0, logged_in.stderr
    assert PASSWORD not in logged_in.stdout
    assert me.code == 0, me.stderr
    assert me.stdout.strip() == f"{made['login']}  permission sets: observer"
    assert out.code == 0, out.stderr
    assert not token_file.exists()
    assert after.code != 0


async def test_the_login_file_is_mode_0600(
    api: httpx.AsyncClient, person: RunAttune, tmp_path: Path
) -> None:
    made = await make_identity(api)

    await person("login", "--login", made["login"], stdin=PASSWORD + "\n")

    mode = stat.S_IMODE((tmp_path / "config" / "attune" / "token").stat().st_mode)
    assert mode == 0o600


async def test_a_wrong_password_prints_the_apis_message(
    api: httpx.AsyncClient, person: RunAttune
) -> None:
    made = await make_identity(api)

    refused = await person("login", "--login", made["login"], stdin="not it at all\n")

    assert refused.code == 1
    assert "HTTP 401: wrong login or password" in refused.stderr


async def test_identity_and_token_commands(api: httpx.AsyncClient, attune: RunAttune) -> None:
    login = unique("cli")

    created = await attune("identity", "create", login, "--permission-set", "operator")
    listed = await attune("identity", "list")
    disabled = await attune("identity", "disable", login)
    enabled = await attune("identity", "enable", login)
    token = await attune("token", "create", login, "--label", "ci", "--ttl", "3600")
    tokens = await attune("token", "list", login)
    token_id = tokens.stdout.split()[0]
    revoked = await attune("token", "revoke", login, token_id)
    unknown_set = await attune("identity", "create", unique("x"), "--permission-set", "nope")
    reassigned = await attune("identity", "permissions", login, "observer", "admin")
    held = (await api.get(f"{IDENTITIES}/{login}")).json()["permission_sets"]
    emptied = await attune("identity", "permissions", login)

    assert created.code == 0, created.stderr
    assert f"{login}  enabled  operator" in listed.stdout
    assert disabled.stdout.strip() == f"identity {login} disabled"
    assert enabled.stdout.strip() == f"identity {login} enabled"
    assert token.stdout.strip().startswith("att_")
    assert " api  ci  expires 20" in tokens.stdout
    assert token.stdout.strip() not in tokens.stdout
    assert revoked.code == 0, revoked.stderr
    rows = (await api.get(f"{IDENTITIES}/{login}/tokens")).json()["items"]
    assert rows[0]["revoked"] is True
    assert unknown_set.code == 1
    assert "permission_sets[0]" in unknown_set.stderr
    assert reassigned.code == 0, reassigned.stderr
    assert sorted(held) == ["admin", "observer"]
    assert emptied.stdout.strip() == f"{login}: (no permission set)"
    assert (await api.get(f"{IDENTITIES}/{login}")).json()["permission_sets"] == []
