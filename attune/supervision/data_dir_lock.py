"""One `attune up` per data directory: two would start two PostgreSQL servers on one set
of files, and each would take the other's leftovers for those of a killed run."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE_NAME = "attune-up.lock"


class DataDirInUse(Exception):
    """Another `attune up` holds the data directory."""


@contextlib.contextmanager
def hold_data_dir(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's lock for the block; raise `DataDirInUse` if it is held.

    An flock dies with its holder, however it dies, so a killed run never leaves it stuck;
    the file keeps the holder's pid only to name it.
    """
    path = data_dir / LOCK_FILE_NAME
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by children
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 64, 0).decode(errors="replace").strip() or "unknown"
            raise DataDirInUse(
                f"another `attune up` (pid {holder}) is running on {data_dir}; "
                "stop it first, or give this one another ATTUNE_DATA_DIR"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)
