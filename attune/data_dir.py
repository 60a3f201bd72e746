"""The data directory's permissions: what is secret is readable by its owner only.

The data directory holds the encryption key, the admin token, PostgreSQL's files and the
Temporal server's SQLite file (whose histories name every execution). Files are made
mode 0600 and folders 0700, with two exceptions that others need to pass through: the
data directory itself is 0711 (others may enter a folder they know the name of, but not
list it), because the embedded PostgreSQL runs as its own user when started by root; and
`packs/` is 0755, because action processes run as `ATTUNE_ACTION_USER` read their scripts
there. Nothing secret lives in either.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

DATA_DIR_MODE = 0o711
PACKS_DIR_MODE = 0o755
PRIVATE_FILE_MODE = 0o600
# Files created by the servers Attune starts (SQLite makes -wal and -shm beside its file).
PRIVATE_UMASK = 0o077


def prepare_data_dir(path: Path) -> None:
    """Create the data directory if needed, and give it its mode."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(DATA_DIR_MODE)


def prepare_packs_dir(path: Path) -> None:
    """Create a folder packs are unpacked into, readable by the action user.

    One that exists keeps its mode: it may be the operator's, set as they chose.
    """
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(PACKS_DIR_MODE)


def make_private(*paths: Path) -> None:
    """Mode 0600 for each file that exists (made by an earlier, more trusting version)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.chmod(PRIVATE_FILE_MODE)


@contextlib.contextmanager
def traversable_only(folder: Path) -> Iterator[None]:
    """Undo, after the block, what the embedded PostgreSQL does to `folder`'s ancestors.

    Started by root, pgserver runs PostgreSQL as a user of its own and makes every folder
    above its data readable and listable by everyone (`chmod g+rx,o+rx`) so that user can
    reach it; reaching needs only `x`. Each folder gets its mode back, plus the `x` bits.
    """
    chain = [folder, *folder.parents]
    before = {path: stat.S_IMODE(path.stat().st_mode) for path in chain if path.exists()}
    try:
        yield
    finally:
        for path, mode in before.items():
            with contextlib.suppress(OSError):
                path.chmod(mode | stat.S_IXGRP | stat.S_IXOTH)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """New files readable by their owner only, for children started inside the block.

    A child inherits the umask when it is forked; restoring ours afterwards leaves the
    child's as it was set.
    """
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)
