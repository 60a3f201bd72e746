"""Building a pack archive from a folder: what `attune pack register FOLDER` uploads.

The counterpart of `attune.packs.archive`, which unpacks it on the server.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from attune import errors
from attune.excerpts import excerpt
from attune.packs.archive import MAX_ARCHIVE_BYTES

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

SKIPPED_NAMES = frozenset({".git", "__pycache__"})
"""Folders (or files) left out of an archive built from a folder."""

SKIPPED_SUFFIXES = (".pyc",)
"""Files left out of an archive built from a folder."""


def build_pack_archive(folder: Path, *, max_bytes: int = MAX_ARCHIVE_BYTES) -> bytes:
    """The pack folder as a gzip-compressed tar, its files at the root, built in memory.

    Leaves out `.git`, `__pycache__` and `*.pyc`; keeps symbolic links as links (the
    server refuses those leading outside the pack). Raises `ValidationError` when the
    folder has no pack.yaml, holds a device or FIFO, or compresses to more than `max_bytes`.
    """
    if not folder.is_dir():
        raise errors.ValidationError(f"{folder} is not a folder", details={"field": "path"})
    if not (folder / "pack.yaml").is_file():
        raise errors.ValidationError(f"{folder} has no pack.yaml", details={"field": "path"})
    buffer = _CappedBuffer(max_bytes)
    try:
        with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            for path in _pack_paths(folder):
                arcname = path.relative_to(folder).as_posix()
                tar.add(path, arcname=arcname, recursive=False, filter=_anonymous)
    except _TooLarge:
        raise errors.ValidationError(
            f"{folder} compresses to more than {max_bytes} bytes, the most an upload may hold",
            details={"field": "path"},
        ) from None
    return buffer.getvalue()


class _TooLarge(Exception):
    """The archive being built grew past its limit."""


class _CappedBuffer(io.BytesIO):
    """An in-memory file refusing to grow past `limit` bytes, so building stops there."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: ReadableBuffer, /) -> int:
        if self.tell() + memoryview(data).nbytes > self.limit:
            raise _TooLarge
        return super().write(data)


def _pack_paths(folder: Path) -> Iterable[Path]:
    """Every folder, file and link under `folder`, in name order, without the skipped ones."""
    for current, folders, files in os.walk(folder, followlinks=False):
        here = Path(current)
        # os.walk lists a link to a folder among the folders; it goes in as a link.
        folders[:] = sorted(name for name in folders if name not in SKIPPED_NAMES)
        for name in folders:
            yield here / name
        for name in sorted(files):
            if name in SKIPPED_NAMES or name.endswith(SKIPPED_SUFFIXES):
                continue
            path = here / name
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                relative = path.relative_to(folder).as_posix()
                raise errors.ValidationError(
                    f"{excerpt(relative)} is not a file, folder or link; a pack cannot hold it",
                    details={"field": "path"},
                )
            yield path


def _anonymous(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """The member without its owner: the server keeps none, and names are nobody's business."""
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member
