"""`attune run` and `attune execution list|get|cancel|tree` against a real API and worker:
parameters typed as the action declares them, the exit code the execution's ending, Ctrl-C
offering to cancel."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from attune.cli_execution_views import TERMINAL_STATUSES
from attune.cli_run import ParameterText, typed_value
from db.models.enums import TERMINAL_EXECUTION_STATUSES
from tests.attune import test_cli_inquiries
from tests.attune.test_cli_inquiries import RunAttune
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.pack_folders import register_pack, write_pack
from tests.polling import until
from tests.workflows.pack_workflows import pack_with

api_url = test_cli_inquiries.api_url
cli = test_cli_inquiries.cli
pytestmark = pytest.mark.usefixtures("worker")

TYPED = {
    "runner_type": "noop",
    "parameters": {
        "n": {"type": "integer"},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "hosts": {"type": "array"},
        "options": {"type": "object"},
        "word": {"type": "string"},
    },
}
FLOW = """
from attune.sdk import run_action

class Flow:
    async def run(self) -> dict:
        await run_action("PACK.step", {"label": "one"})
        await run_action("PACK.step", {"label": "two"})
        return {"done": True}
"""


def test_the_clis_terminal_statuses_are_the_databases() -> None:
    assert {str(status) for status in TERMINAL_EXECUTION_STATUSES} == TERMINAL_STATUSES


@pytest.mark.parametrize(
    ("text", "schema", "value"),
    [
        ("3", {"type": "integer"}, 3),
        ("-7", {"type": "integer"}, -7),
        ("0.5", {"type": "number"}, 0.5),
        ("2", {"type": "number"}, 2),
        ("yes", {"type": "boolean"}, True),
        ("False", {"type": "boolean"}, False),
        ("a, b", {"type": "array"}, ["a", "b"]),
        ("80,443", {"type": "array", "items": {"type": "integer"}}, [80, 443]),
        ('["x", 1]', {"type": "array"}, ["x", 1]),
        ("", {"type": "array"}, []),
        ('{"k": 1}', {"type": "object"}, {"k": 1}),
        ("3", {"type": "string"}, "3"),
        ("3", {}, "3"),
        ("null", {"type": ["integer", "null"]}, None),
        ("4", {"type": ["integer", "null"]}, 4),
    ],
)
def test_a_value_is_read_as_its_parameters_type(
    text: str, schema: dict[str, object], value: object
) -> None:
    assert typed_value(text, schema) == value


@pytest.mark.parametrize(
    ("text", "schema", "says"),
    [
        ("three", {"type": "integer"}, "'three' is not an integer"),
        ("1e", {"type": "number"}, "'1e' is not a number"),
        ("maybe", {"type": "boolean"}, "'maybe' is not a boolean"),
        ("[1,", {"type": "array"}, "is not JSON"),
        ("[1]", {"type": "object"}, "'[1]' is not an object"),
        ("x,2", {"type": "array", "items": {"type": "integer"}}, "'x' is not an integer"),
    ],
)
def test_a_value_its_type_cannot_read_is_refused_saying_why(
    text: str, schema: dict[str, object], says: str
) -> None:
    with pytest.raises(ParameterText, match=re.escape(says)):
        typed_value(text, schema)


async def test_run_types_name_value_pairs_and_merges_them_over_params_json(
    api: httpx.AsyncClient, cli: RunAttune, tmp_path: Path
) -> None:
    ref = unique("run")
    await register_pack(api, write_pack(tmp_path, ref, actions={"typed": TYPED}))

    ran = await cli(
        "run",
        f"{ref}.typed",
        "n=3",
        "ratio=0.5",
        "flag=yes",
        "hosts=web1,web2",
        'options={"k": [1]}',
        "word=007",
        "--params-json",
        '{"n": 1, "word": "x"}',
        "-o",
        "json",
    )
    bad = await cli("run", f"{ref}.typed", "n=three")
    no_pair = await cli("run", f"{ref}.typed", "n")
    unknown = await cli("run", f"{ref}.typed", "colour=red")

    assert ran.code == 0, ran.stderr
    execution = json.loads(ran.stdout)
    assert execution["parameters"] == {
        "n": 3,
        "ratio": 0.5,
        "flag": True,
        "hosts": ["web1", "web2"],
        "options": {"k": [1]},
        "word": "007",
    }
    assert execution["status"] in ("requested", "scheduling", "scheduled", "running", "completed")
    assert (bad.code, bad.stdout) == (2, "")
    assert "parameter n: 'three' is not an integer" in bad.stderr
    assert no_pair.code == 2
    assert "'n' is not name=value" in no_pair.stderr
    assert unknown.code == 1
    assert "HTTP 422" in unknown.stderr
    assert "colour" in unknown.stderr


async def test_a_watched_run_shows_its_end_and_exits_0_only_if_it_completed(
    cli: RunAttune,
) -> None:
    done = await cli("run", "core.local", "cmd=echo hello; echo oops >&2", "--watch")
    failed = await cli("run", "core.local", "cmd=exit 3", "--watch", "-o", "json")

    assert done.code == 0, done.stderr
    assert "core.local: completed" in done.stderr
    # The output as it came (stderr on stderr), then the execution without it again.
    lines = [line.rstrip() for line in done.stdout.splitlines()]
    assert lines[0] == "hello"
    assert "stdout" not in lines
    assert "oops" in done.stderr.splitlines()
    assert failed.code == 1
    ended = json.loads(failed.stdout)
    assert (ended["status"], ended["result"]["exit_code"]) == ("failed", 3)
    assert f"execution {ended['id']} core.local: failed" in failed.stderr


async def test_ctrl_c_while_watching_asks_and_cancels_the_execution(
    api: httpx.AsyncClient, api_url: str, admin_token: str, tmp_path: Path
) -> None:
    environment = {
        **os.environ,
        "ATTUNE_API_URL": api_url,
        "ATTUNE_API_TOKEN": admin_token,
        "ATTUNE_DATA_DIR": str(tmp_path / "cli"),
    }
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "attune", "run", "core.local", "cmd=sleep 60", "--watch"),
        env=environment,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    assert process.stdin is not None
    told = b""
    while b": running" not in told:
        told += await asyncio.wait_for(process.stderr.readline(), 30)
    execution_id = int(told.split(b"execution ")[1].split()[0])

    process.send_signal(signal.SIGINT)
    while b"Cancel execution" not in told:
        told += await asyncio.wait_for(process.stderr.read(100), 10)
    process.stdin.write(b"y\n")
    await process.stdin.drain()
    stdout, rest = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 1, (told + rest).decode()
    assert f"execution {execution_id} core.local: cancelled" in (told + rest).decode()
    assert "cancelled" in stdout.decode()  # the ended execution, printed
    assert (await wait_for_status(api, execution_id))["status"] == "cancelled"


async def test_execution_list_get_cancel_and_a_workflows_tree(
    api: httpx.AsyncClient, cli: RunAttune, tmp_path: Path
) -> None:
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Flow", FLOW)
    started = await cli("run", f"{ref}.flow", "--watch", "-o", "json")
    assert started.code == 0, started.stderr
    parent = json.loads(started.stdout)

    listed = await cli("execution", "list", "--parent", str(parent["id"]))
    as_json = await cli("execution", "list", "--action", f"{ref}.step", "-o", "json")
    shown = await cli("execution", "get", str(parent["id"]))
    tree = await cli("execution", "tree", str(parent["id"]))
    nested = await cli("execution", "tree", str(parent["id"]), "-o", "json")
    ended = await cli("execution", "cancel", str(parent["id"]))

    assert listed.code == 0, listed.stderr
    children = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert [row[1:3] for row in children] == [[f"{ref}.step", "completed"]] * 2
    assert [row[-1] for row in children] == [str(parent["id"])] * 2
    assert {item["parent_id"] for item in json.loads(as_json.stdout)} == {parent["id"]}
    assert "completed" in shown.stdout
    assert '"done": true' in shown.stdout  # a workflow's value, as JSON
    tree_lines = tree.stdout.splitlines()
    assert f"execution {parent['id']} {ref}.flow: completed" in tree_lines[0]
    assert len(tree_lines) == 3
    assert all(f"{ref}.step: completed" in line for line in tree_lines[1:])
    first, second = json.loads(nested.stdout)["children"]
    assert first["id"] < second["id"]  # oldest first
    assert first["parameters"]["label"] == "one"
    assert ended.code == 1
    assert "HTTP 409" in ended.stderr


async def test_cancel_stops_a_running_execution(api: httpx.AsyncClient, cli: RunAttune) -> None:
    created = await api.post(
        "/api/v1/executions", json={"action": "core.local", "parameters": {"cmd": "sleep 60"}}
    )
    execution_id = created.json()["id"]

    async def running() -> bool:
        status: str = (await api.get(f"/api/v1/executions/{execution_id}")).json()["status"]
        return status == "running"

    await until(running, within=30)
    cancelled = await cli("execution", "cancel", str(execution_id))

    assert cancelled.code == 0, cancelled.stderr
    assert f"execution {execution_id} core.local: cancel" in cancelled.stdout
    assert (await wait_for_status(api, execution_id))["status"] == "cancelled"


@pytest.mark.parametrize(
    ("words", "offered"),
    [
        ("attune exe", ["execution"]),
        ("attune execution l", ["list"]),
        ("attune pack r", ["register", "remove"]),
    ],
)
def test_shell_completion_offers_the_commands(words: str, offered: list[str]) -> None:
    script = Path(sys.executable).with_name("attune")  # what `pip install` put on the PATH
    completed = subprocess.run(
        [str(script)],
        env={
            **os.environ,
            "_ATTUNE_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert completed.stdout.split() == offered
