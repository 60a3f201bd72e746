"""The local-shell-script runner: a script file from the pack's actions/ folder."""

from __future__ import annotations

import os

from activities.runners.entry_points import EntryPointError, resolve_entry_point
from activities.runners.process import run_process
from activities.runners.types import RunOutput, RunRequest


async def run_shell_script(request: RunRequest) -> RunOutput:
    """Run the entry point directly when it is executable (its shebang decides), else with bash."""
    try:
        script = resolve_entry_point(request.action, request.action.entry_point)
    except EntryPointError as exc:
        return RunOutput.failed(str(exc))
    argv = [str(script)] if os.access(script, os.X_OK) else ["/bin/bash", str(script)]
    return await run_process(request, argv)
