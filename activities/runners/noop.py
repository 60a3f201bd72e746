"""The noop runner: an action that only exists to be triggered, logged and chained."""

from __future__ import annotations

from activities.runners.types import RunOutput, RunRequest, RunStatus


async def run_noop(request: RunRequest) -> RunOutput:
    """Complete at once with no output and no result."""
    return RunOutput.empty(RunStatus.COMPLETED)
