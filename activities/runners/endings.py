"""An action's ending, as its guard (`action_guard.py`) wrote it to a file, read back.

The guard writes the file once the action has ended, whether or not the worker is still
there to hear it, so an ending outlives a worker that dies a moment later. The worker reads
it through `read_ending` as soon as the guard exits; after a worker's death, the next
attempt of the activity reads it the same way.

The file is JSON written atomically (a reader sees all of it or nothing):
`format` (1); `reason`: "exited", "worker_died" (the guard killed the action because the
worker had died) or "not_started" (with `error`); `exit_code`, negative for a signal as in
`subprocess`; `stdout`, `stderr`, `result` (the result pipe's text, or null when stdout is
the result) with a `*_truncated` flag each; `started_at`, `ended_at` (Unix time) and
`duration_seconds`.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from activities.run_messages import NOT_RETRIED
from activities.runners.heartbeat import timeout_message
from activities.runners.types import RunOutput, RunStatus
from attune.json_limits import json_problem, needs_walk

WORKER_DIED_ERROR = (
    f"the worker running this action died while it ran, and the action's processes were "
    f"killed with it; {NOT_RETRIED}"
)
_TEXT_FIELDS = ("stdout", "stderr")
_FLAG_FIELDS = ("stdout_truncated", "stderr_truncated", "result_truncated")
_REASONS = frozenset({"exited", "worker_died", "not_started"})


def ending_path(endings_dir: Path, execution_id: int) -> Path:
    """Where the guard of `execution_id`'s action writes its ending."""
    return endings_dir / f"execution-{execution_id}.json"


def forget_ending(path: Path) -> None:
    """Delete an ending once it is recorded elsewhere; one that is not there is no error."""
    path.unlink(missing_ok=True)


def parse_json(text: str) -> tuple[Any, bool]:
    """`text` as JSON when it is JSON, else None; and whether a result was left out.

    JSON nested deeper than the API can serve back is left out (None, True), rather than
    stored to break every read of the execution.
    """
    if not text.strip():
        return None, False
    try:
        value = json.loads(text)
    except RecursionError:
        return None, True
    except ValueError:
        return None, False
    # The walk only when the text could hold something too deep (a test on the raw text).
    if needs_walk(text) and json_problem(value, field="result") is not None:
        return None, True
    return value, False


def outcome(returncode: int | None, timed_out_after: float | None) -> tuple[RunStatus, str | None]:
    """The status and error of a process that ended with `returncode`."""
    if timed_out_after is not None:
        return RunStatus.TIMEOUT, timeout_message(timed_out_after)
    if returncode == 0:
        return RunStatus.COMPLETED, None
    if returncode is None:
        return RunStatus.FAILED, "the action's process left no exit code"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return RunStatus.FAILED, f"killed by {name}"
    return RunStatus.FAILED, f"exit code {returncode}"


def read_ending(path: Path) -> RunOutput | None:
    """The ending at `path` as a RunOutput; None when there is none, or not a whole one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not _well_formed(data):
        return None
    duration = float(data["duration_seconds"])
    if data["reason"] == "not_started":
        return RunOutput.failed(str(data["error"]), duration_seconds=duration)
    error: str | None
    if data["reason"] == "worker_died":
        status, error = RunStatus.FAILED, WORKER_DIED_ERROR
    else:
        status, error = outcome(data["exit_code"], None)
    if data["result"] is None:  # no result pipe: stdout is the result
        value, result_truncated = parse_json(data["stdout"])
    elif data["result_truncated"]:
        value, result_truncated = None, True
    else:
        value, result_truncated = parse_json(data["result"])
    return RunOutput(
        status=status,
        exit_code=data["exit_code"],
        stdout=data["stdout"],
        stderr=data["stderr"],
        stdout_truncated=data["stdout_truncated"],
        stderr_truncated=data["stderr_truncated"],
        result=value,
        duration_seconds=duration,
        error=error,
        result_truncated=result_truncated,
    )


def _well_formed(data: Any) -> bool:
    """Every field of format 1 is there, with its type: the file may be anyone's garbage."""
    if not isinstance(data, dict) or data.get("format") != 1:
        return False
    exit_code = data.get("exit_code")
    return (
        data.get("reason") in _REASONS
        and (data["reason"] != "not_started" or isinstance(data.get("error"), str))
        and (exit_code is None or (isinstance(exit_code, int) and not isinstance(exit_code, bool)))
        and all(isinstance(data.get(name), str) for name in _TEXT_FIELDS)
        and "result" in data
        and (data["result"] is None or isinstance(data["result"], str))
        and all(isinstance(data.get(name), bool) for name in _FLAG_FIELDS)
        and isinstance(data.get("duration_seconds"), int | float)
    )
