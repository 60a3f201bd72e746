"""run_action: dispatch on the runner type, noop, and the stored shape of an output."""

from __future__ import annotations

import json

from activities.runners import RUNNER_TYPES, RUNNERS, RunStatus, run_action
from tests.activities.runners.support import make_request


def test_every_runner_type_has_a_runner() -> None:
    assert RUNNERS.keys() == RUNNER_TYPES


async def test_noop_completes_at_once() -> None:
    output = await run_action(make_request("noop", {"anything": 1}))
    assert output.status is RunStatus.COMPLETED
    assert output.result is None
    assert output.error is None
    assert output.exit_code is None


async def test_unknown_runner_type_fails_naming_it() -> None:
    output = await run_action(make_request("orquesta"))
    assert output.status is RunStatus.FAILED
    assert output.error == "unknown runner type 'orquesta' for action tests.orquesta"


async def test_to_json_is_the_stored_shape() -> None:
    output = await run_action(make_request("local-shell-cmd", {"cmd": "echo '[1]'; exit 2"}))
    stored = output.to_json()
    assert json.loads(json.dumps(stored)) == stored
    assert stored == {
        "status": "failed",
        "exit_code": 2,
        "stdout": "[1]\n",
        "stderr": "",
        "stdout_truncated": False,
        "stderr_truncated": False,
        "result": [1],
        "duration_seconds": stored["duration_seconds"],
        "error": "exit code 2",
        "result_truncated": False,
    }
    assert type(stored["status"]) is str
