"""The python-script runner: a function or class from a pack file, in a child interpreter."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from activities.runners.entry_points import EntryPointError, resolve_entry_point
from activities.runners.process import parse_json, run_process
from activities.runners.types import RunOutput, RunRequest

WRAPPER = Path(__file__).with_name("python_wrapper.py")
DEFAULT_ENTRY_NAME = "run"


def _read_result(path: Path, limit: int) -> tuple[Any, bool]:
    """The returned value, unless larger than `limit` bytes; and whether it was left out."""
    # No file means the action never returned (it raised, or was killed): no result.
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError:
        return None, False
    if len(data) > limit:
        return None, True
    return parse_json(data.decode("utf-8", errors="replace"))


async def run_python_script(request: RunRequest) -> RunOutput:
    """Call `file.py` (function `run`) or `file.py:name` with the parameters as keywords.

    The action's print() output stays on stdout; its return value comes back through a
    result file and becomes `result`.
    """
    file_part, _, name = request.action.entry_point.partition(":")
    try:
        script = resolve_entry_point(request.action, file_part)
    except EntryPointError as exc:
        return RunOutput.failed(str(exc))
    with tempfile.TemporaryDirectory(prefix="attune-result-", ignore_cleanup_errors=True) as tmp:
        if request.run_as is not None:
            request.run_as.owns(Path(tmp))  # the action's interpreter writes the result here
        result_path = Path(tmp) / "result.json"
        # -u: what the action printed before a timeout or a crash is not lost in a buffer.
        # -P: this package's folder stays off sys.path; its types.py would shadow the stdlib's.
        argv = [
            sys.executable,
            "-u",
            "-P",
            str(WRAPPER),
            str(script),
            name or DEFAULT_ENTRY_NAME,
            str(result_path),
        ]
        return await run_process(
            request,
            argv,
            read_result=lambda _stdout: _read_result(result_path, request.output_limit_bytes),
        )
