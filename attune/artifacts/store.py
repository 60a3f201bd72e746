"""The bytes of artifacts: small ones go to PostgreSQL, larger ones to files of the store.

The store is a folder (ATTUNE_ARTIFACT_STORE_DIR, by default the data directory's
`artifacts/`) that every API process and worker reading or writing artifacts shares. A file
in it is named by a random hex id and never changes; its row names it (`stored_file`).
Content is copied in while it is hashed and counted, so an oversized one is refused after
at most `max_bytes + 1` bytes, whatever size it claimed. A file whose row never got
written (a crash between the two) is an orphan, which the retention purge removes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from attune import errors
from attune.config import Settings

CHUNK_BYTES = 1024 * 1024
STORE_MODE = 0o700
FILE_MODE = 0o600
_STORED_NAME = re.compile(r"[0-9a-f]{32}")
PARTIAL_SUFFIX = ".partial"


@dataclass(frozen=True)
class ArtifactLimits:
    """How large an artifact may be, all of one execution's may be, and what stays inline."""

    inline_bytes: int = 65_536
    max_bytes: int = 52_428_800
    execution_max_bytes: int = 209_715_200


@dataclass(frozen=True)
class Kept:
    """Content taken in: its size and SHA-256, and where it is (inline, or a stored file)."""

    size_bytes: int
    sha256: str
    content: bytes | None = None
    stored_file: str | None = None


def too_large(what: str, limit: int, *, field: str = "content") -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"{what} is larger than the limit of {limit:,} bytes", details={"field": field}
    )


class ArtifactStore:
    """Where artifact bytes go (`keep`) and come from (`path_of`)."""

    def __init__(self, directory: Path, limits: ArtifactLimits) -> None:
        self.directory = directory
        self.limits = limits

    def prepare(self) -> None:
        self.directory.mkdir(mode=STORE_MODE, parents=True, exist_ok=True)

    def keep(self, source: BinaryIO, *, what: str = "the artifact") -> Kept:
        """Copy `source` in: inline when it fits `inline_bytes`, else as a file of the store.

        `PayloadTooLarge` naming `what` past `max_bytes` (nothing is left behind). Blocking:
        call it in a thread from async code.
        """
        head = source.read(self.limits.inline_bytes + 1)
        if len(head) <= self.limits.inline_bytes:
            if len(head) > self.limits.max_bytes:  # a limit set below the inline size
                raise too_large(what, self.limits.max_bytes)
            return Kept(len(head), hashlib.sha256(head).hexdigest(), content=head)
        self.prepare()
        name = secrets.token_hex(16)
        partial = self.directory / (name + PARTIAL_SUFFIX)
        digest = hashlib.sha256()
        size = 0
        try:
            with _create(partial) as target:
                chunk = head
                while chunk:
                    size += len(chunk)
                    if size > self.limits.max_bytes:
                        raise too_large(what, self.limits.max_bytes)
                    digest.update(chunk)
                    target.write(chunk)
                    chunk = source.read(CHUNK_BYTES)
            partial.rename(self.directory / name)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return Kept(size, digest.hexdigest(), stored_file=name)

    def path_of(self, stored_file: str) -> Path:
        """The file of a row's `stored_file`; `NotFound` when the store no longer has it."""
        if _STORED_NAME.fullmatch(stored_file) is None:
            raise errors.NotFound(f"artifact file {stored_file!r} is not a file of the store")
        path = self.directory / stored_file
        if not path.is_file():
            raise errors.NotFound(
                f"the artifact's file is missing from the store ({self.directory})"
            )
        return path

    def remove(self, stored_files: Iterable[str | None]) -> None:
        """Delete these files of the store; one already gone is no error."""
        for name in stored_files:
            if name is not None and _STORED_NAME.fullmatch(name) is not None:
                (self.directory / name).unlink(missing_ok=True)

    def files_older_than(self, seconds: float) -> list[str]:
        """The store's files (and partial files) untouched for `seconds`: orphan candidates."""
        if not self.directory.is_dir():
            return []
        cutoff = time.time() - seconds
        found = []
        for entry in os.scandir(self.directory):
            name = entry.name.removesuffix(PARTIAL_SUFFIX)
            if _STORED_NAME.fullmatch(name) is None or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(FileNotFoundError):
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    found.append(entry.name)
        return found

    def remove_partial_or_orphan(self, names: Iterable[str]) -> None:
        for name in names:
            if _STORED_NAME.fullmatch(name.removesuffix(PARTIAL_SUFFIX)) is not None:
                (self.directory / name).unlink(missing_ok=True)


def store_from(settings: Settings) -> ArtifactStore:
    """The store and limits the settings name (ATTUNE_ARTIFACT_*)."""
    limits = ArtifactLimits(
        inline_bytes=settings.artifact_inline_bytes,
        max_bytes=settings.artifact_max_bytes,
        execution_max_bytes=settings.artifact_execution_max_bytes,
    )
    return ArtifactStore(settings.artifact_store, limits)


def _create(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    return os.fdopen(fd, "wb")
