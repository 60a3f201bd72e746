"""Reading an ending back: whole ones become the RunOutput a live worker reports, others None."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from activities.runners import RunStatus
from activities.runners.endings import (
    WORKER_DIED_ERROR,
    ending_path,
    forget_ending,
    read_ending,
)


def an_ending(**changes: Any) -> dict[str, Any]:
    """An ending as the guard writes it, of `echo '{"a": 1}'`."""
    return {
        "format": 1,
        "reason": "exited",
        "error": None,
        "exit_code": 0,
        "stdout": '{"a": 1}\n',
        "stdout_truncated": False,
        "stderr": "",
        "stderr_truncated": False,
        "result": None,
        "result_truncated": False,
        "started_at": 1_700_000_000.0,
        "ended_at": 1_700_000_000.5,
        "duration_seconds": 0.5,
    } | changes


def written(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "ending.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_an_ending_reads_as_the_run_output(tmp_path: Path) -> None:
    output = read_ending(written(tmp_path, an_ending()))
    assert output is not None
    assert (output.status, output.exit_code, output.error) == (RunStatus.COMPLETED, 0, None)
    assert (output.stdout, output.result, output.duration_seconds) == ('{"a": 1}\n', {"a": 1}, 0.5)


@pytest.mark.parametrize(
    ("changes", "result", "result_truncated"),
    [
        ({"result": "[1, 2]"}, [1, 2], False),
        ({"result": '"x', "result_truncated": True}, None, True),
        ({"result": "[" * 10_000 + "]" * 10_000}, None, True),  # deeper than the API serves
        ({"result": ""}, None, False),
    ],
)
def test_the_result_pipe_is_the_result_when_there_was_one(
    tmp_path: Path, changes: dict[str, Any], result: Any, result_truncated: bool
) -> None:
    output = read_ending(written(tmp_path, an_ending(**changes)))
    assert output is not None
    assert (output.result, output.result_truncated) == (result, result_truncated)


@pytest.mark.parametrize(
    ("exit_code", "error"),
    [(3, "exit code 3"), (-15, "killed by SIGTERM"), (-99, "killed by signal 99")],
)
def test_a_failure_is_named_by_its_exit_code(tmp_path: Path, exit_code: int, error: str) -> None:
    output = read_ending(written(tmp_path, an_ending(exit_code=exit_code)))
    assert output is not None
    assert (output.status, output.error) == (RunStatus.FAILED, error)


def test_an_action_killed_because_its_worker_died_failed(tmp_path: Path) -> None:
    ending = an_ending(reason="worker_died", exit_code=-9, stdout="partial\n")
    output = read_ending(written(tmp_path, ending))
    assert output is not None
    assert (output.status, output.error) == (RunStatus.FAILED, WORKER_DIED_ERROR)
    assert (output.exit_code, output.stdout) == (-9, "partial\n")


def test_an_action_that_never_started_failed_saying_why(tmp_path: Path) -> None:
    ending = an_ending(reason="not_started", error="could not start x: no", exit_code=None)
    output = read_ending(written(tmp_path, ending))
    assert output is not None
    assert (output.status, output.error, output.exit_code) == (
        RunStatus.FAILED,
        "could not start x: no",
        None,
    )


@pytest.mark.parametrize(
    "data",
    [
        "",
        json.dumps(an_ending())[:100],  # half written
        "not json",
        [],
        an_ending(format=2),
        an_ending(reason="vanished"),
        an_ending(reason="not_started"),  # without the error
        an_ending(exit_code="3"),
        an_ending(exit_code=True),
        an_ending(stdout=None),
        an_ending(result=7),
        an_ending(stderr_truncated="no"),
        an_ending(duration_seconds=None),
        {key: value for key, value in an_ending().items() if key != "result"},
    ],
)
def test_anything_but_a_whole_ending_reads_as_none(tmp_path: Path, data: Any) -> None:
    assert read_ending(written(tmp_path, data)) is None


def test_a_missing_ending_reads_as_none_and_forgetting_it_is_no_error(tmp_path: Path) -> None:
    path = ending_path(tmp_path, 12)
    assert path.parent == tmp_path
    assert read_ending(path) is None
    forget_ending(path)
    path.write_text(json.dumps(an_ending()))
    forget_ending(path)
    assert not path.exists()
    assert ending_path(tmp_path, 12) != ending_path(tmp_path, 13)
