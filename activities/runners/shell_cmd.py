"""The local-shell-cmd runner: the `cmd` parameter, run by /bin/sh.

A command is normally `sh -c <cmd>`, in plain sight in `ps`. An action that marks `cmd`
secret (it holds a password, or an encrypted key was rendered into it) has the shell read
it from a pipe instead, so it is in no process's argv (`/proc/<pid>/cmdline`) nor
environment.
"""

from __future__ import annotations

import fcntl
import os

from activities.runners.action_user import ActionUser
from activities.runners.process import run_process
from activities.runners.types import RunOutput, RunRequest

# The most a pipe holds for a process that is not root (/proc/sys/fs/pipe-max-size's
# default); the command is written whole before the shell starts.
MAX_SECRET_CMD_BYTES = 1_048_576


async def run_shell_cmd(request: RunRequest) -> RunOutput:
    """Run the `cmd` parameter with `/bin/sh -c`."""
    cmd = request.parameters.get("cmd")
    if not isinstance(cmd, str) or not cmd.strip():
        return RunOutput.failed("local-shell-cmd needs the parameter 'cmd' (a non-empty string)")
    if "cmd" not in request.action.secret_parameters:
        return await run_process(request, ["/bin/sh", "-c", cmd])
    try:
        read_fd = _filled_pipe(cmd.encode(), request.run_as)
    except OSError as error:
        return RunOutput.failed(f"cannot hand the secret cmd to the shell: {error}")
    # `eval` runs the text as `sh -c` would; a pipe that cannot be read fails the run
    # (exit 126, cat's message on stderr) rather than run nothing and succeed.
    reader = f"eval \"$(cat /dev/fd/{read_fd} || echo 'exit 126')\""
    try:
        return await run_process(request, ["/bin/sh", "-c", reader], inherit_fds=(read_fd,))
    finally:
        os.close(read_fd)


def _filled_pipe(data: bytes, reader: ActionUser | None) -> int:
    """The read end of a pipe that holds `data`, closed for writing, readable by `reader`."""
    if len(data) > MAX_SECRET_CMD_BYTES:
        raise OSError(f"a secret cmd may be at most {MAX_SECRET_CMD_BYTES} bytes")
    read_fd, write_fd = os.pipe()
    try:
        if reader is not None:
            # A pipe is its creator's (mode 0600): the action's user could not open it.
            os.fchown(read_fd, reader.uid, reader.gid)
        if len(data) > 65_536:  # Linux's default pipe size
            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, len(data))
        os.set_blocking(write_fd, False)  # never wait: a short write is an error below
        written = os.write(write_fd, data) if data else 0
        if written != len(data):
            raise OSError("the pipe took only part of the command")
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    return read_fd
