"""Servers a killed `attune up` left running on this data directory, found and stopped.

Children die with the launcher (see `children`), but a launcher killed before that was in
place, or a child that ignored its signal, leaves a server holding the data files and
ports. Using it as if just started hides that; starting beside it fails or corrupts. So a
start stops it first, and says so. Only a process proven to be of this data directory is
touched: its pid is recorded here and its command line names these very files.
"""

from __future__ import annotations

import contextlib
import json
import signal
from pathlib import Path

import psutil

TEMPORAL_PID_FILE = "temporal.pid"
# pgserver's list of processes using a server: `attune up` no longer uses it, and a stale
# pid in it kept the server from ever being stopped.
PGSERVER_HANDLES_FILE = ".handle_pids.json"
LEFTOVER_STOP_SECONDS = 10.0


def record_temporal_pid(data_dir: Path, pid: int) -> None:
    """Note the dev server's pid, so a run after a killed one can find it."""
    path = data_dir / TEMPORAL_PID_FILE
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps({"pid": pid}))


def forget_temporal_pid(data_dir: Path) -> None:
    (data_dir / TEMPORAL_PID_FILE).unlink(missing_ok=True)


def stop_leftovers(data_dir: Path, *, postgres_dir: Path | None, sqlite: Path | None) -> list[str]:
    """Stop what a killed run left; return one line per process stopped, for the console."""
    stopped: list[str] = []
    if postgres_dir is not None:
        (postgres_dir / PGSERVER_HANDLES_FILE).unlink(missing_ok=True)
        postmaster = _leftover_postmaster(postgres_dir)
        if postmaster is not None:
            # SIGINT is PostgreSQL's fast shutdown: clients are cut off, data is checkpointed.
            _stop_with_children(postmaster, signal.SIGINT)
            stopped.append(f"PostgreSQL (pid {postmaster.pid}) on {postgres_dir}")
    if sqlite is not None:
        for server in _leftover_temporal_servers(data_dir, sqlite):
            _stop_with_children(server, signal.SIGTERM)
            stopped.append(f"the Temporal dev server (pid {server.pid}) on {sqlite}")
        forget_temporal_pid(data_dir)
    return stopped


def _leftover_postmaster(postgres_dir: Path) -> psutil.Process | None:
    """The live postmaster named by `postmaster.pid`, if it is one of this directory."""
    try:
        pid = int((postgres_dir / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        names = {str(postgres_dir), str(postgres_dir.resolve())}
        if process.name() == "postgres" and names & set(process.cmdline()):
            return process
    return None


def _leftover_temporal_servers(data_dir: Path, sqlite: Path) -> list[psutil.Process]:
    """Dev servers on this SQLite file: the one recorded here, and any a launcher from
    before the record was kept left behind."""
    found: dict[int, psutil.Process] = {}
    with contextlib.suppress(FileNotFoundError, ValueError, KeyError, TypeError, psutil.Error):
        recorded = json.loads((data_dir / TEMPORAL_PID_FILE).read_text())["pid"]
        process = psutil.Process(int(recorded))
        if _serves_file(process, sqlite):
            found[process.pid] = process
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.pid not in found and _serves_file(process, sqlite):
                found[process.pid] = process
    return list(found.values())


def _serves_file(process: psutil.Process, sqlite: Path) -> bool:
    command = process.cmdline()
    if "start-dev" not in command or "--db-filename" not in command:
        return False
    named = command[command.index("--db-filename") + 1 :][:1]
    return bool(named) and Path(named[0]) in (sqlite, sqlite.resolve())


def _stop_with_children(process: psutil.Process, stop_signal: signal.Signals) -> None:
    """Signal the process, wait for it and its children, then SIGKILL whatever is left."""
    with contextlib.suppress(psutil.Error):
        family = [process, *process.children(recursive=True)]
        process.send_signal(stop_signal)
        _, alive = psutil.wait_procs(family, timeout=LEFTOVER_STOP_SECONDS)
        for survivor in alive:
            with contextlib.suppress(psutil.Error):
                survivor.kill()
        psutil.wait_procs(alive, timeout=5)
