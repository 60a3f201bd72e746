"""`attune inquiry list` and `attune inquiry respond`, run as a person runs them: the CLI in
a process of its own, calling a real API server over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from api.main import create_app
from attune.cli import app
from attune.config import Settings
from tests.conftest import free_port
from tests.executions import wait_for_status
from tests.inquiries import start_ask


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


RunAttune = Callable[..., Awaitable[Ran]]


@pytest.fixture
async def api_url(settings: Settings) -> AsyncIterator[str]:
    """The API served by uvicorn on a free port, for the duration of the test."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the API server did not start"
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


@pytest.fixture
def attune(api_url: str, admin_token: str, tmp_path: Path) -> RunAttune:
    """Run the `attune` command line against the API, with the session's token."""

    async def run(*arguments: str) -> Ran:
        return await run_attune(api_url, admin_token, tmp_path, *arguments)

    return run


async def run_attune(api_url: str, token: str, tmp_path: Path, *arguments: str) -> Ran:
    """`attune ARGUMENTS` against the API at `api_url` with `token`."""
    environment = {
        **os.environ,
        "ATTUNE_API_URL": api_url,
        "ATTUNE_API_TOKEN": token,
        "ATTUNE_DATA_DIR": str(tmp_path / "cli"),
    }
    return await run_cli(environment, *arguments)


async def run_cli(environment: dict[str, str], *arguments: str) -> Ran:
    """`python -m attune ARGUMENTS` in a process of its own, with exactly `environment`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "attune",
        *arguments,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return Ran(process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture
def cli(api_url: str, admin_token: str, tmp_path: Path) -> RunAttune:
    """The `attune` command line run in this process (a thread: its HTTP calls block), for
    tests of what it prints: quicker than a process of its own."""

    async def run(*arguments: str) -> Ran:
        environment = {
            "ATTUNE_API_URL": api_url,
            "ATTUNE_API_TOKEN": admin_token,
            "ATTUNE_DATA_DIR": str(tmp_path / "cli"),
            "COLUMNS": "200",  # tables unwrapped, as tests read them
        }
        result = await asyncio.to_thread(CliRunner().invoke, app, list(arguments), env=environment)
        return Ran(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.mark.usefixtures("worker")
async def test_the_cli_lists_pending_inquiries_and_answers_one(
    api: httpx.AsyncClient, attune: RunAttune
) -> None:
    run = attune
    execution_id, inquiry = await start_ask(api, prompt="Ship  release\n42?", ttl=300)
    number = str(inquiry["id"])

    listed = await run("inquiry", "list", "--status", "pending")

    assert listed.code == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "EXECUTION", "EXPIRES", "ASSIGNEES", "PROMPT"]
    ours = [line for line in lines if line.split()[0] == number]
    assert len(ours) == 1
    assert ours[0].split()[1:3] == ["pending", str(execution_id)]
    assert ours[0].split()[-4:] == ["(anyone)", "Ship", "release", "42?"]

    not_json = await run("inquiry", "respond", number, "--data", "{approve: yes}")
    assert not_json.code == 2
    assert "--data is not JSON" in not_json.stderr
    refused = await run("inquiry", "respond", number, "--data", '{"approve": "yes"}')
    assert refused.code == 1
    assert "HTTP 422" in refused.stderr
    assert "response.approve" in refused.stderr

    answered = await run("inquiry", "respond", number, "--data", '{"approve": true}', "-o", "json")

    assert answered.code == 0, answered.stderr
    assert json.loads(answered.stdout)["status"] == "responded"
    assert json.loads(answered.stdout)["response"] == {"approve": True}
    execution = await wait_for_status(api, execution_id)
    assert execution["result"]["response"] == {"approve": True}
    again = await run("inquiry", "list", "--status", "pending")
    assert number not in [line.split()[0] for line in again.stdout.splitlines()[1:]]
