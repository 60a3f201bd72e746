"""Pack archives: a pack folder as one gzip-compressed tar, unpacked on the server.

Building one is `attune.packs.archive_build`'s. Unpacking is where an upload meets the
server's disk, so nothing in the archive is trusted.
Before a single file is written, every member is checked: a bounded count and total size,
no absolute path, no `..`, no device or FIFO, no link leading outside, no member inside a
link (the way out that `tarfile.data_filter` alone has missed in Python releases before
3.11.13), no name twice. `tarfile.data_filter` then checks each member again as it is
written, and the running total of bytes is enforced there too. The uncompressed tar is
itself bounded while it is decompressed, so a gzip bomb costs at most the limits.

The pack loader, not this module, decides whether what the links inside point at may be
read; here a link only has to stay inside the folder.
"""

from __future__ import annotations

import gzip
import posixpath
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from attune import errors
from attune.excerpts import excerpt

if TYPE_CHECKING:
    pass

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
"""The largest archive accepted, compressed (64 MiB)."""

MAX_EXTRACTED_BYTES = 256 * 1024 * 1024
"""The most bytes an archive's files may hold once extracted (256 MiB)."""

MAX_ARCHIVE_FILES = 10_000
"""The most members (files, folders, links) an archive may hold."""

MAX_NAME_BYTES = 1024
"""The longest member name (or link target) accepted, in UTF-8; 255 bytes per part."""

NOT_A_PACK_ARCHIVE = "not a readable gzip-compressed tar file"

_MEMBER_OVERHEAD = 4096
"""Tar bytes a member may take beyond its data: its header, padding, a long name's header."""

_CHUNK = 1024 * 1024

_FILTER_REASONS: tuple[tuple[type[tarfile.FilterError], str], ...] = (
    (tarfile.AbsolutePathError, "has an absolute path"),
    (tarfile.OutsideDestinationError, "would be written outside the pack folder"),
    (tarfile.SpecialFileError, "is a device, FIFO or other special file"),
    (tarfile.AbsoluteLinkError, "is a link to an absolute path"),
    (tarfile.LinkOutsideDestinationError, "is a link leading outside the pack folder"),
)


def extract_pack_archive(
    archive: IO[bytes],
    destination: Path,
    *,
    max_files: int = MAX_ARCHIVE_FILES,
    max_bytes: int = MAX_EXTRACTED_BYTES,
) -> Path:
    """Unpack a gzip-compressed tar of a pack into `destination`; the folder holding pack.yaml.

    That folder is `destination` itself, or the archive's single top-level folder. Raises
    `ValidationError` naming the problem (and the member, excerpted) when the archive is
    refused; everything is checked before anything is written, except what only writing
    can tell (a full disk). `destination` must be empty or absent; it is the caller's to
    remove, refused or not. Limiting the compressed size is the caller's (it reads the
    upload); `MAX_ARCHIVE_BYTES` is the default to hold it to.
    """
    destination.mkdir(parents=True, exist_ok=True)
    if any(destination.iterdir()):
        raise ValueError(f"{destination} is not empty")  # the caller's mistake, not the upload's
    with tempfile.TemporaryFile() as spool:
        _decompress(archive, spool, limit=max_bytes + (max_files + 1) * _MEMBER_OVERHEAD)
        spool.seek(0)
        try:
            with tarfile.open(fileobj=spool, mode="r:") as tar:
                tar.errorlevel = 2  # every error raised, none only logged
                members = _members(tar, max_files)
                _check_sizes(members, max_bytes)
                root = _check_members(members, str(destination))
                tar.extractall(destination, members, filter=_Writing(max_bytes))
        except tarfile.TarError:  # not a tar, or one cut short
            raise _refused(NOT_A_PACK_ARCHIVE) from None
    return destination / root if root else destination


def _decompress(archive: IO[bytes], spool: IO[bytes], *, limit: int) -> None:
    """Copy the gunzipped `archive` into `spool`, refusing it past `limit` bytes."""
    written = 0
    with gzip.GzipFile(fileobj=archive, mode="rb") as unzipped:
        while True:
            try:
                chunk = unzipped.read(_CHUNK)
            except (OSError, EOFError, zlib.error):  # gzip.BadGzipFile is an OSError
                raise _refused(NOT_A_PACK_ARCHIVE) from None
            if not chunk:
                return
            written += len(chunk)
            if written > limit:
                raise _refused(f"it expands to more than {limit} bytes uncompressed")
            spool.write(chunk)


def _members(tar: tarfile.TarFile, max_files: int) -> list[tarfile.TarInfo]:
    """The archive's members, read one header at a time so that counting stops at the limit."""
    members: list[tarfile.TarInfo] = []
    for member in tar:
        if len(members) == max_files:
            raise _refused(f"more than {max_files} files")
        members.append(member)
    return members


def _check_sizes(members: Sequence[tarfile.TarInfo], max_bytes: int) -> None:
    """Refuse members whose sizes add up to more than `max_bytes`, before any is written."""
    sizes = {_name(member): member.size for member in members if member.isreg()}
    total = sum(sizes.values()) + sum(
        sizes.get(_normalized(member.linkname), 0) for member in members if member.islnk()
    )
    if total > max_bytes:
        raise _refused(f"its files hold more than {max_bytes} bytes")


def _check_members(members: Sequence[tarfile.TarInfo], destination: str) -> str:
    """Refuse any member that could write outside `destination`; the pack's root, relative."""
    names = [_name(member) for member in members]
    pairs = list(zip(names, members, strict=True))
    links = {name for name, member in pairs if member.issym()}
    not_folders = {name for name, member in pairs if not member.isdir()}
    files: set[str] = set()
    seen: set[str] = set()
    for name, member in pairs:
        if name in seen:
            raise _member_refused(member, "appears twice")
        seen.add(name)
        _filtered(member, destination)
        for prefix in _prefixes(name):
            if prefix in links:
                raise _member_refused(member, f"is inside the link {excerpt(prefix)}")
            if prefix in not_folders:
                raise _member_refused(member, f"is inside {excerpt(prefix)}, not a folder")
        if member.issym():
            _check_symlink(member, name, links)
        elif member.islnk() and _normalized(member.linkname) not in files:
            raise _member_refused(member, "is a hard link to no file before it in the archive")
        elif member.isreg():
            files.add(name)
    return _pack_root(names, members)


def _check_symlink(member: tarfile.TarInfo, name: str, links: set[str]) -> None:
    """Refuse a link whose target leaves the folder, or reaches it through another link."""
    if posixpath.isabs(member.linkname):
        raise _member_refused(member, "is a link to an absolute path")
    reached = name.split("/")[:-1]
    steps = [part for part in member.linkname.split("/") if part not in ("", ".")]
    for index, part in enumerate(steps):
        if part == "..":
            if not reached:
                raise _member_refused(member, "is a link leading outside the pack folder")
            reached.pop()
            continue
        reached.append(part)
        # Past a link, `..` means the parent of where that link leads, not of the link:
        # only the last step may be one (and then it is checked on its own).
        if index < len(steps) - 1 and "/".join(reached) in links:
            raise _member_refused(member, "is a link through another link")


def _pack_root(names: Sequence[str], members: Sequence[tarfile.TarInfo]) -> str:
    """The pack's root, relative: pack.yaml's folder, the archive's root or its one folder."""
    if "pack.yaml" in names:
        return ""
    tops = {name.split("/")[0] for name in names if name}
    if len(tops) == 1:
        (top,) = tops
        folder = dict(zip(names, members, strict=True)).get(top)
        if f"{top}/pack.yaml" in names and (folder is None or folder.isdir()):
            return top
    raise _refused("no pack.yaml at its root nor in its single top-level folder")


def _prefixes(name: str) -> Iterable[str]:
    """`a` and `a/b` for `a/b/c`: the folders a member is written through."""
    parts = name.split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])


def _name(member: tarfile.TarInfo) -> str:
    """The member's path, normalized; refused when absolute, holding `..`, or unwritable."""
    for text in (member.name, member.linkname):
        # Control characters (NUL above all) and undecodable bytes would fail writing.
        if not text.isprintable():
            raise _member_refused(member, "has control or undecodable characters in its name")
        parts = text.split("/")
        if len(text.encode()) > MAX_NAME_BYTES or any(len(part.encode()) > 255 for part in parts):
            raise _member_refused(member, "has a name too long to write")
    if posixpath.isabs(member.name) or member.name.startswith("\\"):
        raise _member_refused(member, "has an absolute path")
    if ".." in member.name.split("/"):
        raise _member_refused(member, "has '..' in its path")
    name = _normalized(member.name)
    if not name and not member.isdir():
        raise _member_refused(member, "is the archive's root, yet not a folder")
    return name


def _normalized(path: str) -> str:
    """`a/b` for `./a//b/`; "" for the archive's root (`.` or `./`)."""
    return "/".join(part for part in path.split("/") if part not in ("", "."))


def _filtered(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo:
    """`tarfile.data_filter`'s verdict on one member, its refusals as `ValidationError`s."""
    try:
        return tarfile.data_filter(member, destination)
    except tarfile.FilterError as error:
        reason = next(
            (text for kind, text in _FILTER_REASONS if isinstance(error, kind)),
            "is refused by the extraction filter",
        )
        raise _member_refused(member, reason) from None


class _Writing:
    """The filter members are written through: `data_filter`, and a running byte total."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.written = 0
        self.sizes: dict[str, int] = {}

    def __call__(self, member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo:
        filtered = _filtered(member, destination)
        if member.isreg():
            self.sizes[_normalized(member.name)] = member.size
            self.written += member.size
        elif member.islnk():  # written as a copy where a hard link cannot be made
            self.written += self.sizes.get(_normalized(member.linkname), 0)
        if self.written > self.max_bytes:
            raise _refused(f"its files hold more than {self.max_bytes} bytes")
        return filtered


def _refused(reason: str) -> errors.ValidationError:
    return errors.ValidationError(f"pack archive refused: {reason}", details={"field": "archive"})


def _member_refused(member: tarfile.TarInfo, reason: str) -> errors.ValidationError:
    where = excerpt(member.name)
    return errors.ValidationError(
        f"pack archive refused: {where} {reason}",
        details={"field": "archive", "member": where},
    )
