"""What a runner is given and what it reports: plain data, no database and no Temporal."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from activities.runners.action_user import ActionUser

PROCESS_RUNNER_TYPES: frozenset[str] = frozenset(
    {"local-shell-cmd", "local-shell-script", "python-script"}
)
"""Runners that start a process of the action's: those given an ATTUNE_ARTIFACTS_DIR."""

RUNNER_TYPES: frozenset[str] = frozenset(
    {"local-shell-cmd", "local-shell-script", "python-script", "http-request", "noop"}
)
"""Runners that `run_action` runs on a worker."""

SHELL_PARAMETERS: dict[str, frozenset[str]] = {"local-shell-cmd": frozenset({"cmd"})}
"""The parameters each runner hands to a shell to execute: rule templates shell-quote the
values they put into these (see `attune.rules.templating`)."""

WORKFLOW_RUNNER_TYPES: frozenset[str] = frozenset({"inquirer"})
"""Runners the execution workflow carries out itself, never `run_action`: an inquiry waits
for a person inside the workflow, where waiting costs nothing and survives restarts."""

PACK_WORKFLOW_RUNNER = "python-workflow"
"""A workflow written as a Python class in a pack: run by `attune.PackWorkflow`, sandboxed,
never by `run_action`; unlike an inquiry it holds its action's concurrency slot."""


@dataclass(frozen=True)
class ActionSpec:
    """The parts of an action definition a runner needs."""

    ref: str
    runner_type: str
    # "" or a path relative to `<pack_path>/actions/`; "file.py:name" for python-script.
    entry_point: str
    pack_path: str | None
    timeout_seconds: float | None
    secret_parameters: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RunRequest:
    """One execution of one action, with the callbacks of the activity that runs it."""

    action: ActionSpec
    parameters: dict[str, Any]
    execution_id: int
    api_url: str
    heartbeat: Callable[[], None]
    heartbeat_interval: float = 1.0
    kill_grace_seconds: float = 5.0
    output_limit_bytes: int = 1_048_576
    # Run the action's processes as this user (ATTUNE_ACTION_USER); None: the worker's own.
    run_as: ActionUser | None = None
    # The action's own API token, ATTUNE_API_TOKEN (`attune.auth.execution_tokens`).
    api_token: str | None = None
    # Where the action's guard writes its ending (`activities.runners.endings`), to be read
    # even if the worker dies; left in place for the caller. None: a private file, removed.
    ending_file: Path | None = None
    # Where whole lines of stdout and stderr go while the action runs (`live_output`), as
    # (stream, text); None: output only in the ending.
    on_output: Callable[[str, str], Awaitable[None]] | None = None
    # The run's own empty folder (ATTUNE_ARTIFACTS_DIR) whose files become its artifacts
    # (`attune.artifacts.collect`); None: the runner makes none.
    artifacts_dir: Path | None = None


class RunStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"


@dataclass
class RunOutput:
    """What happened; `to_json()` is the shape stored as the execution's result."""

    status: RunStatus
    exit_code: int | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    result: Any
    duration_seconds: float
    error: str | None
    # The result was left out: larger than the output cap, or nested deeper than
    # attune.json_limits.MAX_JSON_DEPTH (which no read could serve back).
    result_truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        """Every field as JSON-ready values, the status as its string."""
        data = dataclasses.asdict(self)
        data["status"] = str(self.status)
        return data

    @classmethod
    def empty(
        cls, status: RunStatus, *, error: str | None = None, duration_seconds: float = 0.0
    ) -> RunOutput:
        """An ending without output: nothing ran (noop), or the action could not start."""
        return cls(
            status=status,
            exit_code=None,
            stdout="",
            stderr="",
            stdout_truncated=False,
            stderr_truncated=False,
            result=None,
            duration_seconds=duration_seconds,
            error=error,
        )

    @classmethod
    def failed(cls, error: str, *, duration_seconds: float = 0.0) -> RunOutput:
        """An action that could not even start: nothing ran, so no output."""
        return cls.empty(RunStatus.FAILED, error=error, duration_seconds=duration_seconds)
