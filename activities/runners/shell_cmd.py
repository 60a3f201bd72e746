"""The local-shell-cmd runner: the `cmd` parameter, run by /bin/sh."""

from __future__ import annotations

from activities.runners.process import run_process
from activities.runners.types import RunOutput, RunRequest


async def run_shell_cmd(request: RunRequest) -> RunOutput:
    """Run the `cmd` parameter with `/bin/sh -c`."""
    cmd = request.parameters.get("cmd")
    if not isinstance(cmd, str) or not cmd.strip():
        return RunOutput.failed("local-shell-cmd needs the parameter 'cmd' (a non-empty string)")
    return await run_process(request, ["/bin/sh", "-c", cmd])
