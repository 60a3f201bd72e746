"""Action runners: run one action and report what happened.

They know nothing of the database or Temporal; the activity passes a heartbeat callback and
cancels the awaiting task to cancel the execution.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from activities.runners.http_request import run_http_request
from activities.runners.noop import run_noop
from activities.runners.python_script import run_python_script
from activities.runners.shell_cmd import run_shell_cmd
from activities.runners.shell_script import run_shell_script
from activities.runners.types import (
    RUNNER_TYPES,
    ActionSpec,
    RunOutput,
    RunRequest,
    RunStatus,
)

__all__ = ["RUNNER_TYPES", "ActionSpec", "RunOutput", "RunRequest", "RunStatus", "run_action"]

Runner = Callable[[RunRequest], Awaitable[RunOutput]]

RUNNERS: dict[str, Runner] = {
    "local-shell-cmd": run_shell_cmd,
    "local-shell-script": run_shell_script,
    "python-script": run_python_script,
    "http-request": run_http_request,
    "noop": run_noop,
}


async def run_action(request: RunRequest) -> RunOutput:
    """Run the action with the runner its type names; action failures are reported, not raised.

    Cancelling the awaiting task stops the action and then raises CancelledError.
    """
    runner = RUNNERS.get(request.action.runner_type)
    if runner is None:
        return RunOutput.failed(
            f"unknown runner type {request.action.runner_type!r} for action {request.action.ref}"
        )
    return await runner(request)
