"""The action guard: nothing of an action outlives its worker, and no ending is lost.

The worker is a real process standing in for it (`stand_in_worker`), killed with SIGKILL
as the kernel's OOM killer or an operator would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from activities.runners import RunStatus, run_action
from activities.runners.endings import WORKER_DIED_ERROR, read_ending
from tests.activities.runners.support import (
    POLL_SECONDS,
    assert_all_gone,
    make_request,
    processes_marked,
    wait_for_pids,
    write_action,
)

REPOSITORY = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the guard needs Linux's prctl")

# A subshell ticking into a file, a subshell whose child called setsid and ticks too, and the
# action's shell itself: four pids in the `pids` file.
ESCAPERS = """
P="$ATTUNE_PARAM_PIDS"; T="$ATTUNE_PARAM_TICKS"
( while :; do echo tick >> "$T"; sleep 0.05; done ) & echo $! >> "$P"
( setsid sh -c 'echo $$ >> "$1"; while :; do echo tock >> "$2"; sleep 0.05; done' - "$P" "$T" &
  wait ) & echo $! >> "$P"
echo $$ >> "$P"
wait
"""


@asynccontextmanager
async def stand_in_worker(
    tmp_path: Path, parameters: dict[str, Any], ending: Path | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A worker process running one action; SIGKILLed on leaving if still alive."""
    argv = [sys.executable, "-m", "tests.activities.runners.stand_in_worker"]
    argv.append(json.dumps(parameters))
    if ending is not None:
        argv.append(str(ending))
    # The worker dies before it can remove its working directory: keep that under tmp_path.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    worker = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=REPOSITORY, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        yield worker
    finally:
        if worker.returncode is None:
            worker.kill()
        await worker.wait()


async def wait_for_file(path: Path, within: float = 5.0) -> None:
    """Poll until `path` exists."""
    for _ in range(int(within / POLL_SECONDS)):
        if await asyncio.to_thread(path.exists):
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"{path} did not appear within {within}s")


async def test_everything_an_action_started_dies_with_its_worker(tmp_path: Path) -> None:
    pids_file, ticks = tmp_path / "pids", tmp_path / "ticks"
    parameters = {"cmd": ESCAPERS, "pids": str(pids_file), "ticks": str(ticks)}
    async with stand_in_worker(tmp_path, parameters) as worker:
        pids = await wait_for_pids(pids_file, 4, within=20)
        # Whatever else carries this test's folder in its command line: the guard.
        pids += [pid for pid in processes_marked(str(tmp_path)) if pid != worker.pid]
        worker.kill()
        await worker.wait()

    await assert_all_gone(pids, within=2.0)
    ticked = ticks.read_text()
    await asyncio.sleep(0.2)
    assert ticks.read_text() == ticked  # nothing is left that still ticks


async def test_an_ending_is_kept_when_the_worker_dies_a_moment_later(tmp_path: Path) -> None:
    pids_file, go, ending = tmp_path / "pids", tmp_path / "go", tmp_path / "endings" / "1.json"
    command = 'echo $$ > "$ATTUNE_PARAM_PIDS"; until [ -e "$ATTUNE_PARAM_GO" ]; do sleep 0.01; done'
    parameters = {"cmd": f"{command}; echo out; exit 3", "pids": str(pids_file), "go": str(go)}
    async with stand_in_worker(tmp_path, parameters, ending) as worker:
        [action] = await wait_for_pids(pids_file, 1, within=20)
        worker.send_signal(signal.SIGSTOP)  # the worker never hears of the ending...
        go.touch()
        await wait_for_file(ending)
        worker.kill()  # ...and dies before it could have
        await worker.wait()

    output = read_ending(ending)
    assert output is not None
    assert (output.exit_code, output.stdout, output.stderr) == (3, "out\n", "")
    assert (output.status, output.error) == (RunStatus.FAILED, "exit code 3")
    assert json.loads(ending.read_text())["reason"] == "exited"
    assert stat.S_IMODE(ending.stat().st_mode) == 0o600
    assert os.listdir(ending.parent) == [ending.name]  # no temporary file left beside it
    await assert_all_gone([action])


async def test_a_worker_that_dies_mid_run_leaves_the_partial_output(tmp_path: Path) -> None:
    pids_file, ending = tmp_path / "pids", tmp_path / "ending.json"
    command = 'echo partial; echo oops >&2; echo $$ > "$ATTUNE_PARAM_PIDS"; sleep 100'
    async with stand_in_worker(tmp_path, {"cmd": command, "pids": str(pids_file)}, ending) as w:
        [action] = await wait_for_pids(pids_file, 1, within=20)
        w.kill()
        await w.wait()
        await wait_for_file(ending, within=3.0)

    output = read_ending(ending)
    assert output is not None
    assert (output.stdout, output.stderr) == ("partial\n", "oops\n")
    assert (output.status, output.error) == (RunStatus.FAILED, WORKER_DIED_ERROR)
    assert output.exit_code == -signal.SIGKILL
    assert json.loads(ending.read_text())["reason"] == "worker_died"
    await assert_all_gone([action])


async def test_the_ending_file_is_left_for_the_caller(tmp_path: Path) -> None:
    ending = tmp_path / "ending.json"
    ending.write_text("a stale ending of an earlier attempt")
    request = make_request("local-shell-cmd", {"cmd": "echo '[1, 2]'"})
    output = await run_action(dataclasses.replace(request, ending_file=ending))
    assert output.result == [1, 2]
    recorded = read_ending(ending)
    assert recorded is not None
    # The same RunOutput, but for the time the worker measured, which includes the guard's.
    assert dataclasses.replace(recorded, duration_seconds=output.duration_seconds) == output
    assert recorded.duration_seconds <= output.duration_seconds


async def test_a_program_that_cannot_start_under_the_guard_is_reported(pack: Path) -> None:
    write_action(pack, "bad.sh", "#!/no/such/interpreter\n", mode=0o755)
    request = make_request("local-shell-script", entry_point="bad.sh", pack_path=pack)
    output = await run_action(request)
    assert output.status is RunStatus.FAILED
    assert output.exit_code is None
    assert output.error is not None
    assert output.error.startswith(f"could not start {pack / 'actions' / 'bad.sh'}: [Errno 2]")


async def test_a_python_result_over_the_cap_is_left_out_and_flagged(pack: Path) -> None:
    write_action(pack, "big.py", "def run():\n    return 'x' * 5000\n")
    request = make_request(
        "python-script", entry_point="big.py", pack_path=pack, output_limit_bytes=1000
    )
    output = await run_action(request)
    assert output.status is RunStatus.COMPLETED, output.stderr
    assert (output.result, output.result_truncated) == (None, True)
