"""Secrets reach an action on stdin only: never in its environment or its command line.

Any process of the same user can read another's `/proc/<pid>/environ`, and any user at all
its `/proc/<pid>/cmdline` (`ps`). Each action here writes its pid, then waits while the
test reads both files of the running process, then shows that it did get the secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.keys import put_key, system
from tests.pack_folders import register_pack, write_pack

pytestmark = pytest.mark.usefixtures("worker")

# Each writes its pid where `pidfile` says (whole, by a rename), then waits for `<pidfile>.done`.
PYTHON_ACTION = """import hashlib, os, time
from pathlib import Path


def run(password, pidfile):
    Path(pidfile + ".tmp").write_text(str(os.getpid()))
    os.replace(pidfile + ".tmp", pidfile)
    deadline = time.monotonic() + 30
    while not Path(pidfile + ".done").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"password_sha256": hashlib.sha256(password.encode()).hexdigest()}
"""
SHELL_ACTION = """#!/bin/sh
input=$(cat)
echo $$ > "$ATTUNE_PARAM_PIDFILE.tmp" && mv "$ATTUNE_PARAM_PIDFILE.tmp" "$ATTUNE_PARAM_PIDFILE"
i=0
while [ ! -e "$ATTUNE_PARAM_PIDFILE.done" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
printf '{"stdin": %s}' "$input"
"""


def a_secret() -> str:
    return f"s3cret-{uuid.uuid4().hex}"


async def run_and_inspect(
    api: httpx.AsyncClient, action: str, parameters: dict[str, Any], pidfile: Path
) -> tuple[dict[str, Any], bytes, bytes]:
    """Run the action; its ending, and its process's environ and cmdline while it ran."""
    response = await api.post(
        "/api/v1/executions", json={"action": action, "parameters": parameters}
    )
    assert response.status_code == 201, response.text
    for _ in range(600):
        if pidfile.exists():  # noqa: ASYNC240 (a test's few bytes of file)
            break
        await asyncio.sleep(0.05)
    environ, cmdline = look_at(pidfile)
    return await wait_for_status(api, response.json()["id"]), environ, cmdline


def look_at(pidfile: Path) -> tuple[bytes, bytes]:
    """The environ and cmdline of the process whose pid is in `pidfile`; then let it go on."""
    pid = int(pidfile.read_text())
    try:
        return Path(f"/proc/{pid}/environ").read_bytes(), Path(f"/proc/{pid}/cmdline").read_bytes()
    finally:
        Path(f"{pidfile}.done").touch()


def environment_names(environ: bytes) -> set[str]:
    return {entry.partition(b"=")[0].decode() for entry in environ.split(b"\0") if entry}


async def test_a_decrypted_key_in_a_secret_parameter_reaches_a_python_action_on_stdin_only(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    secret, name, ref = a_secret(), unique("password"), unique("sd")
    await put_key(engine, settings, system(name), secret, encrypted=True)
    password = {"type": "string", "secret": True, "default": f"{{{{ keystore.system.{name} }}}}"}
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "login": {
                "runner_type": "python-script",
                "entry_point": "login.py",
                "parameters": {"password": password, "pidfile": {"type": "string"}},
            }
        },
        scripts={"login.py": PYTHON_ACTION},
    )
    await register_pack(api, folder)
    pidfile = tmp_path / "python.pid"

    execution, environ, cmdline = await run_and_inspect(
        api, f"{ref}.login", {"pidfile": str(pidfile)}, pidfile
    )

    assert execution["status"] == "completed", execution
    expected = hashlib.sha256(secret.encode()).hexdigest()
    assert execution["result"]["result"] == {"password_sha256": expected}
    assert secret.encode() not in environ
    assert secret.encode() not in cmdline
    names = environment_names(environ)
    assert "ATTUNE_PARAM_PIDFILE" in names
    assert "ATTUNE_PARAM_PASSWORD" not in names


async def test_a_secret_parameter_reaches_a_shell_script_on_stdin_only(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    secret, ref = a_secret(), unique("sd")
    parameters = {"password": {"type": "string", "secret": True}, "pidfile": {"type": "string"}}
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "login": {
                "runner_type": "local-shell-script",
                "entry_point": "login.sh",
                "parameters": parameters,
            }
        },
        scripts={"login.sh": SHELL_ACTION},
    )
    await register_pack(api, folder)
    pidfile = tmp_path / "shell.pid"

    execution, environ, cmdline = await run_and_inspect(
        api, f"{ref}.login", {"password": secret, "pidfile": str(pidfile)}, pidfile
    )

    assert execution["status"] == "completed", execution
    assert execution["result"]["result"]["stdin"]["password"] == secret
    assert secret.encode() not in environ
    assert secret.encode() not in cmdline
    assert "ATTUNE_PARAM_PASSWORD" not in environment_names(environ)


async def test_a_secret_command_is_read_by_the_shell_from_a_pipe_not_its_argv(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    secret, ref = a_secret(), unique("sd")
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "login": {
                "runner_type": "local-shell-cmd",
                "parameters": {"cmd": {"type": "string", "secret": True, "required": True}},
            }
        },
    )
    await register_pack(api, folder)
    pidfile = tmp_path / "cmd.pid"
    cmd = (
        f"echo $$ > {pidfile}.tmp && mv {pidfile}.tmp {pidfile}; "
        f"while [ ! -e {pidfile}.done ]; do sleep 0.05; done; echo 'logged in with {secret}'"
    )

    execution, environ, cmdline = await run_and_inspect(api, f"{ref}.login", {"cmd": cmd}, pidfile)

    assert execution["status"] == "completed", execution
    assert execution["result"]["stdout"] == f"logged in with {secret}\n"
    assert execution["parameters"] == {"cmd": "********"}
    assert secret.encode() not in environ
    assert secret.encode() not in cmdline
    assert cmdline.startswith(b"/bin/sh\0-c\0eval")


async def test_a_secret_command_that_fails_fails_the_run(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("sd")
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "fail": {
                "runner_type": "local-shell-cmd",
                "parameters": {"cmd": {"type": "string", "secret": True, "required": True}},
            }
        },
    )
    await register_pack(api, folder)

    response = await api.post(
        "/api/v1/executions",
        json={"action": f"{ref}.fail", "parameters": {"cmd": "echo multi\nline; exit 3"}},
    )

    execution = await wait_for_status(api, response.json()["id"])
    assert execution["status"] == "failed"
    assert execution["result"]["exit_code"] == 3
    assert execution["result"]["stdout"] == "multi\n"
