"""python-script: functions, classes and coroutines from a pack file, in a child interpreter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from activities.runners import RunRequest, RunStatus, run_action
from tests.activities.runners.support import make_request, write_action

ACTIONS = """
import asyncio
import sys

from helper import greeting  # a sibling module of the action file


def run(name, times=1):
    return {"greeting": greeting(name), "times": times}


def shout(name):
    return name.upper()


class Action:
    def __init__(self):
        self.prefix = "class"

    def run(self, name):
        return f"{self.prefix}:{name}"


class AsyncAction:
    async def run(self):
        return ["async", "method"]


async def later(delay):
    await asyncio.sleep(delay)
    return "awaited"


def noisy():
    print("hello from the action")
    print("and to stderr", file=sys.stderr)
    return {"quiet": True}


def broken():
    raise ValueError("boom")


def not_json():
    return object()


def nothing():
    pass
"""


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pack for the module: the actions only read, so the tests can share it."""
    pack = tmp_path_factory.mktemp("python") / "pack"
    write_action(pack, "basic.py", ACTIONS)
    write_action(pack, "helper.py", "def greeting(name):\n    return f'hello {name}'\n")
    return pack


def python(pack: Path, entry_point: str, parameters: dict[str, Any] | None = None) -> RunRequest:
    return make_request("python-script", parameters, entry_point=entry_point, pack_path=pack)


@pytest.mark.parametrize(
    ("entry_point", "parameters", "expected"),
    [
        ("basic.py", {"name": "ann"}, {"greeting": "hello ann", "times": 1}),
        ("basic.py:shout", {"name": "bob"}, "BOB"),
        ("basic.py:Action", {"name": "cy"}, "class:cy"),
        ("basic.py:later", {"delay": 0.01}, "awaited"),
        ("basic.py:AsyncAction", {}, ["async", "method"]),
        ("basic.py:nothing", {}, None),
    ],
)
async def test_return_value_is_the_result(
    pack: Path, entry_point: str, parameters: dict[str, Any], expected: Any
) -> None:
    output = await run_action(python(pack, entry_point, parameters))
    assert output.status is RunStatus.COMPLETED, output.stderr
    assert output.result == expected
    assert output.stdout == ""


async def test_print_output_stays_on_stdout(pack: Path) -> None:
    output = await run_action(python(pack, "basic.py:noisy"))
    assert output.status is RunStatus.COMPLETED, output.stderr
    assert output.stdout == "hello from the action\n"
    assert output.stderr == "and to stderr\n"
    assert output.result == {"quiet": True}


@pytest.mark.parametrize(
    ("entry_point", "in_stderr"),
    [
        ("basic.py:broken", "ValueError: boom"),
        ("basic.py:absent", "AttributeError"),
        ("basic.py:not_json", "the return value of not_json is not JSON"),
    ],
)
async def test_exception_fails_with_traceback(pack: Path, entry_point: str, in_stderr: str) -> None:
    output = await run_action(python(pack, entry_point))
    assert output.status is RunStatus.FAILED
    assert output.exit_code == 1
    assert output.error == "exit code 1"
    assert in_stderr in output.stderr
    assert output.result is None


async def test_traceback_on_stderr(pack: Path) -> None:
    output = await run_action(python(pack, "basic.py:broken"))
    assert output.stderr.startswith("Traceback (most recent call last):")
    assert 'basic.py", line' in output.stderr


async def test_unexpected_parameter_fails(pack: Path) -> None:
    output = await run_action(python(pack, "basic.py:shout", {"name": "x", "extra": 1}))
    assert output.status is RunStatus.FAILED
    assert "unexpected keyword argument 'extra'" in output.stderr


async def test_timeout_stops_the_interpreter(pack: Path) -> None:
    request = make_request(
        "python-script", {"delay": 30}, entry_point="basic.py:later", pack_path=pack, timeout=0.5
    )
    output = await run_action(request)
    assert output.status is RunStatus.TIMEOUT
    assert output.result is None


@pytest.mark.parametrize("entry_point", ["../../basic.py:run", "missing.py", "missing.py:run"])
async def test_bad_file_refused(pack: Path, entry_point: str) -> None:
    output = await run_action(python(pack, entry_point))
    assert output.status is RunStatus.FAILED
    assert output.exit_code is None
