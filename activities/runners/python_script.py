"""The python-script runner: a function or class from a pack file, in a child interpreter."""

from __future__ import annotations

import sys
from pathlib import Path

from activities.runners.entry_points import EntryPointError, resolve_entry_point
from activities.runners.process import run_process
from activities.runners.types import RunOutput, RunRequest

WRAPPER = Path(__file__).with_name("python_wrapper.py")
DEFAULT_ENTRY_NAME = "run"


async def run_python_script(request: RunRequest) -> RunOutput:
    """Call `file.py` (function `run`) or `file.py:name` with the parameters as keywords.

    The action's print() output stays on stdout; its return value comes back through a
    pipe of its own and becomes `result` (left out, flagged, past the output cap).
    """
    file_part, _, name = request.action.entry_point.partition(":")
    try:
        script = resolve_entry_point(request.action, file_part)
    except EntryPointError as exc:
        return RunOutput.failed(str(exc))
    # -u: what the action printed before a timeout or a crash is not lost in a buffer.
    # -P: this package's folder stays off sys.path; its types.py would shadow the stdlib's.
    # The runner appends the descriptor of the pipe the wrapper writes the result to.
    argv = [sys.executable, "-u", "-P", str(WRAPPER), str(script), name or DEFAULT_ENTRY_NAME]
    return await run_process(request, argv, result_pipe=True)
