"""The files an action leaves in its ATTUNE_ARTIFACTS_DIR become artifacts of its execution.

Every run of a process runner gets a fresh, empty folder, named to the action as
ATTUNE_ARTIFACTS_DIR. When the action ends, before its ending is recorded, each regular
file in it (in subfolders too, at most `MAX_FILES`) becomes an artifact: its ref
`<action ref>/<path in the folder>` (so runs of one action make versions of one ref), its
type from its name (`attune.artifacts.kinds`), kept by the last 10 versions. A file
`attune-artifacts.json` in the folder may say otherwise per file:

    {"report.csv": {"ref": "reports.weekly", "type": "file_text",
                    "retention_policy": "days", "retention_limit": 30}}

Only regular files with one link, owned by the action's user, are read, and never through
a symbolic link: an action cannot make the worker read a file the action could not. A
file that is refused (too large, a link, a bad manifest entry) is named in the
execution's result under `artifact_errors`; the rest are kept, and the result stands.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attune import errors
from attune.artifacts.data import MAX_TEXT_CHARS, Ref
from attune.artifacts.kinds import content_type_of, type_of
from attune.artifacts.saving import ArtifactDraft, save_artifact
from attune.artifacts.store import ArtifactStore
from db.models import ArtifactType, OwnerType, RetentionPolicy

logger = logging.getLogger(__name__)
MANIFEST = "attune-artifacts.json"
MANIFEST_MAX_BYTES = 65_536
MAX_FILES = 100
DIR_MODE = 0o700


class ManifestEntry(BaseModel):
    """What `attune-artifacts.json` may say of one file."""

    model_config = ConfigDict(extra="forbid")

    ref: Ref | None = None
    type: Literal["file_binary", "file_datatable", "file_image", "file_text"] | None = None
    retention_policy: RetentionPolicy | None = None
    retention_limit: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


@dataclass
class Collected:
    """What became of the folder: the artifacts made, and why the others were not."""

    # (id, name) of each artifact made, in the folder's order.
    kept: list[tuple[int, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def prepare_artifacts_dir(directory: Path, owner_uid_gid: tuple[int, int] | None) -> Path:
    """A fresh, empty folder for one run (made here, or by `mkdtemp` just before)."""
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if owner_uid_gid is not None:
        os.chown(directory, *owner_uid_gid)
    return directory


async def collect_artifacts(
    transactions: async_sessionmaker[AsyncSession],
    store: ArtifactStore,
    directory: Path,
    *,
    execution_id: int,
    action_ref: str,
    owner_uid: int | None = None,
) -> Collected:
    """Turn the folder's files into artifacts of the execution, then remove the folder."""
    collected = Collected()
    opened: list[tuple[str, BinaryIO]] = []
    try:
        manifest, opened = await asyncio.to_thread(_survey, directory, collected, owner_uid)
        for relative, source in opened:
            entry = manifest.get(relative, ManifestEntry())
            draft = ArtifactDraft(
                ref=entry.ref or f"{action_ref}/{relative}"[:MAX_TEXT_CHARS],
                artifact_type=ArtifactType(entry.type) if entry.type else type_of(relative),
                execution_id=execution_id,
                pack_ref=action_ref.partition(".")[0],
                scope=OwnerType.ACTION,
                owner=action_ref,
                name=relative,
                content_type=content_type_of(relative),
                retention_policy=entry.retention_policy or ArtifactDraft.retention_policy,
                retention_limit=entry.retention_limit or ArtifactDraft.retention_limit,
            )
            try:
                made = await _keep_file(transactions, store, source, draft)
            except errors.AttuneError as refused:
                collected.refused.append(f"{relative}: {refused.message}")
            except (OSError, DBAPIError) as failed:
                logger.warning("artifact %r of execution %d: %s", relative, execution_id, failed)
                collected.refused.append(f"{relative}: could not be kept ({type(failed).__name__})")
            else:
                collected.kept.append((made, relative))
    finally:
        for _, source in opened:
            source.close()
        await asyncio.to_thread(shutil.rmtree, directory, ignore_errors=True)
    return collected


async def _keep_file(
    transactions: async_sessionmaker[AsyncSession],
    store: ArtifactStore,
    source: BinaryIO,
    draft: ArtifactDraft,
) -> int:
    kept = await asyncio.to_thread(store.keep, source, what=f"artifact {draft.name!r}")
    async with transactions() as session, session.begin():
        artifact = await save_artifact(session, store, draft, kept)
        return artifact.id


def _survey(
    directory: Path, collected: Collected, owner_uid: int | None
) -> tuple[dict[str, ManifestEntry], list[tuple[str, BinaryIO]]]:
    """What the manifest says, and the files to keep, opened (blocking: run in a thread).

    `os.fwalk` holds each folder open and never follows a link to one; each file is opened
    relative to its folder's descriptor with O_NOFOLLOW. So no component of any path is
    looked up again after it was checked: a folder swapped for a link meanwhile (by another
    process of the action's user) leads nowhere else.
    """
    if not os.path.isdir(directory):
        return {}, []
    manifest: dict[str, ManifestEntry] = {}
    opened: list[tuple[str, BinaryIO]] = []
    try:
        for root, folders, names, root_fd in os.fwalk(directory, follow_symlinks=False):
            folders.sort()
            for name in sorted(names):
                relative = os.path.relpath(os.path.join(root, name), directory)
                if relative == MANIFEST:
                    manifest = _read_manifest(name, root_fd, collected, owner_uid)
                elif not _is_plain_name(relative):
                    shown = relative.encode("utf-8", "replace").decode()
                    collected.refused.append(f"{shown!r}: its name must be printable UTF-8")
                elif len(opened) == MAX_FILES:
                    collected.refused.append(
                        f"{relative}: only the first {MAX_FILES} files become artifacts"
                    )
                else:
                    try:
                        opened.append((relative, _open_own_file(name, root_fd, owner_uid)))
                    except OSError as refused:
                        collected.refused.append(f"{relative}: {refused}")
    except BaseException:
        for _, source in opened:
            source.close()
        raise
    return manifest, opened


def _open_own_file(name: str, folder_fd: int, owner_uid: int | None) -> BinaryIO:
    """The file `name` of the folder, opened for reading, if it is a regular file of one
    link (and of `owner_uid`), never through a symbolic link; `OSError` saying why not."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise OSError("is a symbolic link: only regular files become artifacts") from None
        raise OSError(f"cannot be read ({error.strerror})") from None
    info = os.fstat(fd)
    reason = None
    if not stat.S_ISREG(info.st_mode):
        reason = "is not a regular file"
    elif info.st_nlink != 1:
        reason = "has more than one hard link"
    elif owner_uid is not None and info.st_uid != owner_uid:
        reason = "is not owned by the action's user"
    if reason is not None:
        os.close(fd)
        raise OSError(f"{reason}: only the action's own regular files become artifacts")
    return os.fdopen(fd, "rb")


def _is_plain_name(relative: str) -> bool:
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return relative.isprintable() and len(relative) <= MAX_TEXT_CHARS // 2


def _read_manifest(
    name: str, folder_fd: int, collected: Collected, owner_uid: int | None
) -> dict[str, ManifestEntry]:
    """What the manifest says of each file; a bad manifest is named and ignored."""
    try:
        with _open_own_file(name, folder_fd, owner_uid) as source:
            text = source.read(MANIFEST_MAX_BYTES + 1)
        if len(text) > MANIFEST_MAX_BYTES:
            raise ValueError(f"is larger than {MANIFEST_MAX_BYTES:,} bytes")
        raw = json.loads(text or b"null")
        if not isinstance(raw, dict):
            raise ValueError("must be a JSON object of file names")
    except (OSError, ValueError) as unreadable:
        collected.refused.append(f"{MANIFEST}: {unreadable} (ignored)")
        return {}
    entries: dict[str, ManifestEntry] = {}
    for file_name, entry in raw.items():
        try:
            entries[file_name] = ManifestEntry.model_validate(entry)
        except ValidationError as invalid:
            first = invalid.errors()[0]
            where = ".".join(str(part) for part in (file_name, *first["loc"]))
            collected.refused.append(f"{MANIFEST}: {where}: {first['msg']} (ignored)")
    return entries
