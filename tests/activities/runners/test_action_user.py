"""ATTUNE_ACTION_USER: actions run as a user of their own, who cannot read the worker's secrets.

Switching users needs root; this machine's tests run as root, and the last test proves the
refusal a non-root worker gives, by running the check as `nobody`.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from activities.runners import run_action
from activities.runners.action_user import ActionUserError, resolve_action_user
from tests.activities.runners.support import alive, make_request, read_pids

ACTION_USER = "nobody"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


def as_action_user(runner: str, parameters: dict[str, object], **options: object) -> object:
    request = make_request(runner, parameters, **options)  # type: ignore[arg-type]
    return dataclasses.replace(request, run_as=resolve_action_user(ACTION_USER))


async def test_the_action_runs_as_the_action_user_with_a_home_of_its_own() -> None:
    request = as_action_user(
        "local-shell-cmd", {"cmd": 'id -un; id -G; echo "$HOME"; pwd; touch "$HOME/mine"'}
    )

    output = await run_action(request)  # type: ignore[arg-type]

    assert output.status == "completed", output.stderr
    user, groups, home, cwd = output.stdout.split()
    assert user == ACTION_USER
    assert groups == str(resolve_action_user(ACTION_USER).gid)  # type: ignore[union-attr]
    assert home == cwd
    assert "attune-run-" in cwd


async def test_the_action_cannot_read_the_workers_environment() -> None:
    # The worker's environment holds the database URL and the encryption key.
    cmd = f"cat /proc/{os.getpid()}/environ > /dev/null && echo read || echo refused"
    request = as_action_user("local-shell-cmd", {"cmd": cmd})

    output = await run_action(request)  # type: ignore[arg-type]

    assert output.stdout.strip() == "refused"


async def test_a_timed_out_action_of_another_user_is_still_killed() -> None:
    pids = Path("/tmp") / f"attune-action-user-{os.getpid()}.pids"
    pids.unlink(missing_ok=True)
    cmd = f"(sleep 60 & echo $! >> {pids}; sleep 60) & echo $! >> {pids}; sleep 60"
    request = as_action_user("local-shell-cmd", {"cmd": cmd}, timeout=1.0)

    output = await run_action(request)  # type: ignore[arg-type]

    assert output.status == "timeout"
    started = read_pids(pids)
    pids.unlink(missing_ok=True)
    assert len(started) == 2
    assert not any(alive(pid) for pid in started)


def test_an_unknown_user_or_root_is_refused_at_start_up() -> None:
    with pytest.raises(ActionUserError, match="no user 'no-such-user'"):
        resolve_action_user("no-such-user")
    with pytest.raises(ActionUserError, match="must not be root"):
        resolve_action_user("root")
    assert resolve_action_user(None) is None
    assert resolve_action_user("") is None


def test_a_worker_that_is_not_root_cannot_switch_and_says_so() -> None:
    # The check itself, from a process that dropped root for nobody's uid, as a worker
    # started as an ordinary user would run it. (This machine's Python lives where
    # `nobody` may not read it, hence the drop inside the interpreter, after its imports.)
    probe = (
        "import os\n"
        "from activities.runners.action_user import resolve_action_user\n"
        "os.setgid(65534)\n"
        "os.setuid(65534)\n"
        "try:\n"
        "    resolve_action_user('daemon')\n"
        "except Exception as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
        timeout=30,
        check=False,
    )

    assert "needs a worker running as root (this one runs as uid 65534)" in done.stdout, done.stderr
