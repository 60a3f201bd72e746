"""The guard of one action's processes: `python -I -S action_guard.py SETTINGS ARGV...`.

The worker (`activities/runners/process.py`) starts this program, not the action: the guard
starts the action and stays its parent, so that

- every process the action starts ends with it, even one that called setsid or lost its
  parent: the guard is a child subreaper (PR_SET_CHILD_SUBREAPER), so every orphan of the
  action is reparented to it, and it kills all its descendants when the action ends;
- the same happens when the worker dies, even by SIGKILL: the worker's PR_SET_PDEATHSIG
  wakes the guard with SIGUSR2 (and it checks its parent twice a second as well);
- the ending is never lost: the guard reads the action's output itself and writes the
  ending to a file, atomically, whether or not the worker is still there to hear it.

Signals from the worker: SIGTERM is forwarded to the action's process group (the first
step of a timeout or a cancellation); SIGUSR1 kills the action and everything it started.

SETTINGS is JSON: `ending` (the file to write), `limit` (bytes kept of each output),
`drain_seconds`, `result_pipe` (append the number of a pipe for the result to ARGV),
`user` ([uid, gid] to run the action as, or null), `inherit_fds` (descriptors the
action inherits under the same numbers) and `live_dir` (a folder to append the kept
stdout and stderr to as they come, files `stdout` and `stderr`, or null). The action's
stdin is the guard's own (the parameters, secrets included, which is why they are never
in argv nor in a file).

Standard library only, and started with -S: it runs once for every action.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import sys
import time

# typing costs milliseconds to import, and the annotations are never evaluated at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# Live output files: appended to, private to the worker's user, never inherited by the action.
LIVE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
# How long killed processes get to disappear; SIGKILL cannot be refused, so only a process
# stuck in the kernel (or a fork bomb outrunning the kills) takes longer.
KILL_WAIT_SECONDS = 2.0
KILL_POLL_SECONDS = 0.005
# A worker's death normally arrives as SIGUSR2; checking the parent too costs nothing.
PARENT_CHECK_SECONDS = 0.5
READ_BYTES = 65_536
NOTED_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD)
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl


class Capture:
    """A pipe from the action: keeps the first `limit` bytes, and reads and drops the rest
    so that the action never blocks on a full pipe."""

    def __init__(self, limit: int, live: str | None = None) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.limit = limit
        self.data = bytearray()
        self.truncated = False
        self.open = True
        # What is kept is also appended here as it comes, for the worker to pass on live.
        self.live_fd = None if live is None else os.open(live, LIVE_FLAGS, 0o600)

    def read(self) -> None:
        """Read what is there; at EOF, close the pipe."""
        chunk = os.read(self.read_fd, READ_BYTES)
        if not chunk:
            self.open = False
            os.close(self.read_fd)
            return
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]
            if self.live_fd is not None:
                os.write(self.live_fd, chunk[:room])
        if len(chunk) > room:
            self.truncated = True

    def text(self) -> str:
        """What was kept, as text; invalid bytes (or a cut character) become U+FFFD."""
        return self.data.decode("utf-8", errors="replace")


def _ignore(signum: int, frame: object) -> None:
    """The byte signal.set_wakeup_fd writes is the note; the handler need do nothing."""


def note_signals() -> int:
    """Have the noted signals wake the main loop; the descriptor that reports them."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for signum in NOTED_SIGNALS:
        signal.signal(signum, _ignore)
    # A worker thread may have blocked them; the guard must hear them all the same.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, NOTED_SIGNALS)
    return read_fd


def descendants(root: int) -> list[int]:
    """The living processes below `root`, found by their parents in /proc."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if fields[0] != b"Z":  # a zombie is dead already, and has no children
            children.setdefault(int(fields[1]), []).append(int(name))
    found: list[int] = []
    todo = [root]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def signal_quietly(pid: int, signum: int, *, group: bool = False) -> None:
    """Signal a process (or group) that may have gone already."""
    if pid <= 0:  # 0 and -1 would mean the guard's own group, or every process
        return
    try:
        if group:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class Guard:
    """One action: started, watched, killed with everything it started, and reported."""

    def __init__(self, settings: dict[str, Any], argv: list[str]) -> None:
        self.argv = argv
        self.drain_seconds = float(settings["drain_seconds"])
        self.user: list[int] | None = settings["user"]
        self.inherit_fds: list[int] = settings["inherit_fds"]
        limit = int(settings["limit"])
        live: str | None = settings.get("live_dir")
        self.stdout = Capture(limit, None if live is None else os.path.join(live, "stdout"))
        self.stderr = Capture(limit, None if live is None else os.path.join(live, "stderr"))
        self.result = Capture(limit) if settings["result_pipe"] else None
        self.parent = os.getppid()
        self.leader = 0
        self.exit_code: int | None = None
        self.reason = "exited"
        self.started = self.ended = time.monotonic()
        self.started_at = self.ended_at = time.time()

    @property
    def captures(self) -> list[Capture]:
        return [self.stdout, self.stderr] + ([self.result] if self.result else [])

    def start(self) -> str | None:
        """Fork and exec the action; the reason it could not start, or None."""
        argv, pass_fds = list(self.argv), list(self.inherit_fds)
        if self.result is not None:
            argv.append(str(self.result.write_fd))
            pass_fds.append(self.result.write_fd)
        report_fd, reporting_fd = os.pipe()  # close-on-exec: EOF once the exec succeeded
        guard_pid = os.getpid()
        self.started, self.started_at = time.monotonic(), time.time()
        pid = os.fork()
        if pid == 0:
            try:
                self._become_action(argv, pass_fds, guard_pid)
            except OSError as error:  # as subprocess words it
                message = f"[Errno {error.errno}] {error.strerror}: {argv[0]!r}"
                os.write(reporting_fd, message.encode(errors="replace"))
            except BaseException as error:  # whatever stopped the exec, the guard reports it
                os.write(reporting_fd, repr(error).encode(errors="replace"))
            finally:
                os._exit(127)
        self.leader = pid
        os.close(reporting_fd)
        for fd in [capture.write_fd for capture in self.captures] + self.inherit_fds:
            os.close(fd)
        # Only the action holds its stdin now: a writer to it sees EPIPE once the action is gone.
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        with os.fdopen(report_fd, "rb") as report:
            problem = report.read()
        if not problem:
            return None
        os.waitpid(pid, 0)
        self.leader = 0
        self.ended, self.ended_at = self.started, self.started_at
        return f"could not start {self.argv[0]}: {problem.decode(errors='replace')}"

    def _become_action(self, argv: list[str], pass_fds: list[int], guard_pid: int) -> None:
        """In the forked child: the action's session, user, descriptors, then exec."""
        signal.set_wakeup_fd(-1)
        for signum in NOTED_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        # Python ignores these at start-up; the action gets them as any program would.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        os.setsid()
        if self.user is not None:
            uid, gid = self.user
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
        # After the user switch, which clears it; a belt in case the guard itself is killed.
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != guard_pid:
            os._exit(1)
        os.dup2(self.stdout.write_fd, 1)
        os.dup2(self.stderr.write_fd, 2)
        for fd in pass_fds:
            os.set_inheritable(fd, True)
        os.execvp(argv[0], argv)

    def reap(self) -> bool:
        """Reap every child that has ended, the leader's end being the action's; whether
        any child is left."""
        while True:
            try:
                # WNOWAIT: the zombie leader still pins its group's id while it is killed.
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return False
            if info is None:
                return True
            if info.si_pid == self.leader and self.exit_code is None:
                # Background children (`sleep 100 &`) must not outlive the action.
                signal_quietly(self.leader, signal.SIGKILL, group=True)
            _, status = os.waitpid(info.si_pid, 0)
            if info.si_pid == self.leader and self.exit_code is None:
                self.exit_code = os.waitstatus_to_exitcode(status)
                self.ended, self.ended_at = time.monotonic(), time.time()

    def kill_everything(self) -> None:
        """SIGKILL the action's group and every descendant, until none is left (bounded)."""
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while True:
            if self.exit_code is None:  # the leader, alive or a zombie, pins the group's id
                signal_quietly(self.leader, signal.SIGKILL, group=True)
            # Every living descendant has an ancestor among the guard's children (orphans
            # are reparented to it): with no child left there is none, and no need to look.
            if not self.reap():
                return
            rest = descendants(os.getpid())
            if not rest or time.monotonic() >= deadline:
                return
            for pid in rest:
                signal_quietly(pid, signal.SIGKILL)
            time.sleep(KILL_POLL_SECONDS)

    def on_signal(self, signum: int) -> None:
        if signum == signal.SIGTERM and self.exit_code is None:
            signal_quietly(self.leader, signal.SIGTERM, group=True)
        elif signum == signal.SIGUSR1:
            self.kill_everything()
        # SIGUSR2 only wakes the loop, which checks the parent: anyone may send SIGUSR2.

    def watch(self, wake_fd: int) -> None:
        """Read the outputs until the action has ended and its pipes are drained."""
        poller = select.poll()
        by_fd = {capture.read_fd: capture for capture in self.captures}
        for fd in [*by_fd, wake_fd]:
            poller.register(fd, select.POLLIN)
        drain_until: float | None = None
        while True:
            if drain_until is None and self.exit_code is not None:
                self.kill_everything()
                drain_until = time.monotonic() + self.drain_seconds
            wait = PARENT_CHECK_SECONDS
            if drain_until is not None:
                wait = min(wait, drain_until - time.monotonic())
                if wait <= 0 or not by_fd:
                    return
            for fd, _ in poller.poll(wait * 1000):
                if fd == wake_fd:
                    for signum in os.read(wake_fd, 4096):
                        self.on_signal(signum)
                elif fd in by_fd:
                    by_fd[fd].read()
                    if not by_fd[fd].open:
                        poller.unregister(fd)
                        del by_fd[fd]
            self.reap()
            if os.getppid() != self.parent and self.exit_code is None:
                self.reason = "worker_died"  # an action that ended before keeps "exited"
                self.kill_everything()

    def ending(self, error: str | None) -> dict[str, Any]:
        """The ending file's contents (see `activities.runners.endings`)."""
        return {
            "format": 1,
            "reason": "not_started" if error is not None else self.reason,
            "error": error,
            "exit_code": self.exit_code,
            "stdout": self.stdout.text(),
            "stdout_truncated": self.stdout.truncated,
            "stderr": self.stderr.text(),
            "stderr_truncated": self.stderr.truncated,
            "result": None if self.result is None else self.result.text(),
            "result_truncated": self.result is not None and self.result.truncated,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_seconds": self.ended - self.started,
        }


def write_atomically(path: str, data: dict[str, Any]) -> None:
    """Write JSON to `path` so that a reader sees all of it or nothing (mode 0600)."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o600)
    os.fchmod(fd, 0o600)  # a stale file keeps its mode through O_TRUNC
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(data, file, ensure_ascii=False)
    os.replace(temporary, path)


def main(argv: list[str]) -> int:
    """Run the action of `argv[2:]` under the settings `argv[1]`; 0 once the ending is written."""
    wake_fd = note_signals()
    settings = json.loads(argv[1])
    if _PRCTL(PR_SET_CHILD_SUBREAPER, 1) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_CHILD_SUBREAPER failed")
    guard = Guard(settings, argv[2:])
    error = guard.start()
    if error is None:
        guard.watch(wake_fd)
    write_atomically(settings["ending"], guard.ending(error))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
