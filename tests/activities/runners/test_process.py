"""The process rules shared by the process runners, exercised through local-shell-cmd."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from activities.runners import RunRequest, RunStatus, run_action
from activities.runners.environment import MAX_ENV_VALUE_BYTES
from tests.activities.runners.support import (
    API_URL,
    Heartbeats,
    assert_all_gone,
    make_request,
    processes_marked,
    read_pids,
    wait_for_pids,
)

REPOSITORY = Path(__file__).resolve().parents[3]

# Two background sleeps and the shell itself, one process group; pids go to the `pids` file.
SLEEPERS = (
    'P="$ATTUNE_PARAM_PIDS"; sleep 100 & echo $! >> "$P"; sleep 100 & echo $! >> "$P";'
    ' echo $$ >> "$P"; wait'
)

# Prints what the child sees: its ATTUNE_* environment and the parameters on its stdin.
SHOW_INPUT = shlex.join(
    [
        sys.executable,
        "-c",
        "import json, os, sys; print(json.dumps({'env': {k: v for k, v in os.environ.items()"
        " if k.startswith('ATTUNE_')}, 'path': os.environ.get('PATH'),"
        " 'stdin': json.load(sys.stdin)}))",
    ]
)


def cmd(command: str, *, parameters: dict[str, Any] | None = None, **options: Any) -> RunRequest:
    """A local-shell-cmd request running `command`; `options` as for make_request."""
    return make_request("local-shell-cmd", {"cmd": command, **(parameters or {})}, **options)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("""echo '{"answer": 42, "items": [1, 2]}'""", {"answer": 42, "items": [1, 2]}),
        ("echo hello world", None),
        ("true", None),
    ],
)
async def test_stdout_is_the_result_when_it_is_json(command: str, expected: Any) -> None:
    output = await run_action(cmd(command))
    assert output.status is RunStatus.COMPLETED
    assert output.exit_code == 0
    assert output.error is None
    assert output.result == expected


async def test_nonzero_exit_code_fails() -> None:
    output = await run_action(cmd("echo out; echo oops >&2; exit 3"))
    assert output.status is RunStatus.FAILED
    assert output.exit_code == 3
    assert output.error == "exit code 3"
    assert (output.stdout, output.stderr) == ("out\n", "oops\n")


async def test_death_by_signal_names_the_signal() -> None:
    output = await run_action(cmd("kill -KILL $$"))
    assert output.status is RunStatus.FAILED
    assert output.exit_code == -signal.SIGKILL
    assert output.error == "killed by SIGKILL"


async def test_parameters_in_env_and_on_stdin_secrets_only_on_stdin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATTUNE_ENCRYPTION_KEY", "the worker's own secret")
    parameters = {"name": "world", "count": 3, "tags": ["a", "b"], "password": "hunter2"}
    output = await run_action(
        cmd(SHOW_INPUT, parameters=parameters, secrets=frozenset({"password"}), execution_id=7)
    )
    assert output.status is RunStatus.COMPLETED, output.stderr
    env = output.result["env"]
    assert env == {
        "ATTUNE_PARAM_CMD": SHOW_INPUT,
        "ATTUNE_PARAM_NAME": "world",
        "ATTUNE_PARAM_COUNT": "3",
        "ATTUNE_PARAM_TAGS": '["a", "b"]',
        "ATTUNE_EXECUTION_ID": "7",
        "ATTUNE_ACTION": "tests.local-shell-cmd",
        "ATTUNE_API_URL": API_URL,
    }
    assert output.result["stdin"] == {"cmd": SHOW_INPUT, **parameters}
    assert output.result["path"] == os.environ["PATH"]


async def test_huge_parameter_only_on_stdin_which_the_child_need_not_read() -> None:
    big = "x" * (MAX_ENV_VALUE_BYTES + 1)
    shown = await run_action(cmd(SHOW_INPUT, parameters={"big": big}))
    assert shown.status is RunStatus.COMPLETED, shown.stderr
    assert "ATTUNE_PARAM_BIG" not in shown.result["env"]
    assert shown.result["stdin"]["big"] == big
    # Far more than a pipe holds, to a child that never reads it: no deadlock.
    ignored = await run_action(cmd("true", parameters={"big": "y" * 2_000_000}, timeout=10))
    assert ignored.status is RunStatus.COMPLETED


async def test_fresh_working_directory_removed_afterwards() -> None:
    output = await run_action(cmd("pwd; ls -A | wc -l"))
    workdir, entries = output.stdout.split()
    assert entries == "0"
    assert not await asyncio.to_thread(os.path.lexists, workdir)


async def test_output_capped_and_flagged_without_blocking_the_child() -> None:
    command = "head -c 3000000 /dev/zero | tr '\\0' a; head -c 3000000 /dev/zero | tr '\\0' b >&2"
    started = time.monotonic()
    output = await run_action(cmd(command, output_limit_bytes=1024, timeout=20))
    assert output.status is RunStatus.COMPLETED
    assert time.monotonic() - started < 10
    assert output.stdout == "a" * 1024
    assert output.stderr == "b" * 1024
    assert output.stdout_truncated
    assert output.stderr_truncated


async def test_output_under_the_cap_is_not_flagged() -> None:
    output = await run_action(cmd("printf 12345678", output_limit_bytes=8))
    assert output.stdout == "12345678"
    assert not output.stdout_truncated
    assert not output.stderr_truncated


async def test_invalid_utf8_is_replaced() -> None:
    output = await run_action(cmd("printf 'ok\\377'"))
    assert output.stdout == "ok\ufffd"


async def test_timeout_terminates_the_whole_group(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    request = cmd(SLEEPERS, parameters={"pids": str(pids_file)}, timeout=0.5)
    output = await run_action(request)
    assert output.status is RunStatus.TIMEOUT
    assert output.error == "timed out after 0.5s"
    # The shell honoured SIGTERM, so SIGKILL was not needed for it.
    assert output.exit_code == -signal.SIGTERM
    assert output.duration_seconds < 0.5 + request.kill_grace_seconds
    pids = read_pids(pids_file)
    assert len(pids) == 3
    await assert_all_gone(pids)


async def test_sigterm_ignored_still_killed_after_grace(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    request = cmd(
        f"trap '' TERM; {SLEEPERS}",
        parameters={"pids": str(pids_file)},
        timeout=0.3,
        kill_grace_seconds=0.4,
    )
    output = await run_action(request)
    assert output.status is RunStatus.TIMEOUT
    assert output.exit_code == -signal.SIGKILL
    assert output.duration_seconds >= 0.3 + 0.4
    await assert_all_gone(read_pids(pids_file))


@pytest.mark.parametrize("ignore_sigterm", [False, True])
async def test_cancel_kills_the_group_then_raises(tmp_path: Path, ignore_sigterm: bool) -> None:
    pids_file = tmp_path / "pids"
    command = f"trap '' TERM; {SLEEPERS}" if ignore_sigterm else SLEEPERS
    request = cmd(command, parameters={"pids": str(pids_file)}, kill_grace_seconds=0.3)
    task = asyncio.create_task(run_action(request))
    try:
        pids = await wait_for_pids(pids_file, 3)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await assert_all_gone(pids)


@pytest.mark.parametrize("loop_turns", range(5))
async def test_cancel_while_starting_leaves_nothing(loop_turns: int) -> None:
    # A unique duration marks this test's sleeps, whose pids nobody had time to write down.
    marker = f"1000.{uuid.uuid4().int % 10**9}"
    request = cmd(f"sleep {marker} & sleep {marker} & wait", kill_grace_seconds=0.3)
    task = asyncio.create_task(run_action(request))
    for _ in range(loop_turns):  # cancel at each step of starting the process
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)  # what was orphaned has had time to start its sleeps
    await assert_all_gone(processes_marked(marker))


async def test_background_process_killed_when_the_action_exits(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    # The background sleep holds stdout open: the runner must not wait for it to close.
    command = 'sleep 100 & echo $! > "$ATTUNE_PARAM_PIDS"; echo done'
    request = cmd(command, parameters={"pids": str(pids_file)})
    output = await asyncio.wait_for(run_action(request), timeout=5)
    assert output.status is RunStatus.COMPLETED
    assert output.stdout == "done\n"
    await assert_all_gone(read_pids(pids_file))


async def test_heartbeat_while_running() -> None:
    heartbeats = Heartbeats()
    output = await run_action(cmd("sleep 0.5", heartbeat=heartbeats, heartbeat_interval=0.05))
    assert output.status is RunStatus.COMPLETED
    assert output.duration_seconds >= 0.5
    assert 5 <= heartbeats.count <= output.duration_seconds / 0.05 + 1


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux only")
async def test_killed_worker_takes_its_child_along(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    worker_code = f"""
import asyncio
from tests.activities.runners.support import make_request
from activities.runners import run_action
request = make_request("local-shell-cmd", {{"cmd": 'echo $$ > {pids_file}; exec sleep 100'}})
asyncio.run(run_action(request))
"""
    # The worker dies before it can remove its working directory: keep that under tmp_path.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", worker_code, env=env, cwd=REPOSITORY
    )
    try:
        [child] = await wait_for_pids(pids_file, 1, within=20)
    finally:
        worker.kill()  # SIGKILL: the worker gets no chance to clean up itself
        await worker.wait()
    await assert_all_gone([child])


async def test_missing_cmd_fails_naming_it() -> None:
    output = await run_action(make_request("local-shell-cmd", {}))
    assert output.status is RunStatus.FAILED
    assert output.error is not None
    assert "'cmd'" in output.error


async def test_unstartable_program_fails(tmp_path: Path) -> None:
    output = await run_action(cmd("true", parameters={"nul": "a\0b"}))
    assert output.status is RunStatus.FAILED
    assert output.error is not None
    assert output.error.startswith("could not start /bin/sh")
    assert json.dumps(output.to_json())
