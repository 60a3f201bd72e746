"""`attune execution re-run`, run as a person runs it: the CLI in a process of its own,
calling a real API server over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.attune import test_cli_inquiries
from tests.attune.test_cli_inquiries import RunAttune
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.pack_folders import register_pack, write_pack

# The CLI in a process of its own against the API on a free port, as the inquiry CLI's
# tests run it.
api_url = test_cli_inquiries.api_url
attune = test_cli_inquiries.attune

ECHO = {
    "runner_type": "local-shell-cmd",
    "parameters": {
        "cmd": {"type": "string", "default": "cat"},
        "user": {"type": "string", "required": True},
        "password": {"type": "string", "secret": True},
    },
}


@pytest.mark.usefixtures("worker")
async def test_the_cli_reruns_an_execution_with_parameters_over_the_originals(
    api: httpx.AsyncClient, attune: RunAttune, tmp_path: Path
) -> None:
    run = attune
    ref = unique("pk")
    await register_pack(api, write_pack(tmp_path, ref, actions={"echo": ECHO}))
    created = await api.post(
        "/api/v1/executions",
        json={"action": f"{ref}.echo", "parameters": {"user": "ann", "password": "pw"}},
    )
    assert created.status_code == 201, created.text
    original = await wait_for_status(api, created.json()["id"])
    number = str(original["id"])

    same = await run("execution", "re-run", number, "-o", "json")
    other = await run(
        "execution", "re-run", number, "--params-json", '{"user": "bob"}', "-o", "json"
    )

    assert same.code == 0, same.stderr
    assert other.code == 0, other.stderr
    assert same.stdout.startswith("{\n  ")  # indented JSON
    first, second = json.loads(same.stdout), json.loads(other.stdout)
    assert first["rerun_of"] == second["rerun_of"] == original["id"]
    assert second["parameters"] == {"cmd": "cat", "user": "bob", "password": "********"}
    first = await wait_for_status(api, first["id"])
    second = await wait_for_status(api, second["id"])
    assert first["result"]["result"] == {"cmd": "cat", "user": "ann", "password": "pw"}
    assert second["result"]["result"] == {"cmd": "cat", "user": "bob", "password": "pw"}

    bad = await run("execution", "re-run", number, "--parameters", '{"user": 3}')
    assert bad.code == 1
    assert "HTTP 422" in bad.stderr
    assert "user" in bad.stderr
    unknown = await run("execution", "re-run", str(2**62))
    assert unknown.code == 1
    assert "HTTP 404" in unknown.stderr
    listed = await api.get("/api/v1/executions", params={"action": f"{ref}.echo"})
    assert len(listed.json()["items"]) == 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["1", "--parameters", "{user: bob}"], "--params-json is not JSON"),
        (["1", "--params-json", '["bob"]'], "--params-json must be a JSON object"),
        (["1", "--params-json", '"bob"'], "--params-json must be a JSON object"),
        (["0"], "greater than or equal to 1"),
        (["one"], "valid integer"),
        ([], "Missing argument 'id'"),
    ],
)
async def test_bad_arguments_exit_2_before_any_call(
    attune: RunAttune, arguments: list[str], message: str
) -> None:
    ran = await attune("execution", "re-run", *arguments)

    assert ran.code == 2
    assert message in ran.stderr
    assert ran.stdout == ""
