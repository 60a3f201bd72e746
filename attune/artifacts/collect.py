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
import json
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attune import errors
from attune.artifacts.kinds import content_type_of, type_of
from attune.artifacts.saving import ArtifactDraft, save_artifact
from attune.artifacts.store import ArtifactStore, Kept
from db.models import ArtifactType, OwnerType, RetentionPolicy

MANIFEST = "attune-artifacts.json"
MANIFEST_MAX_BYTES = 65_536
MAX_FILES = 100
MAX_REF_CHARS = 1000
DIR_MODE = 0o700


class ManifestEntry(BaseModel):
    """What `attune-artifacts.json` may say of one file."""

    model_config = ConfigDict(extra="forbid")

    ref: Annotated[str, Field(min_length=1, max_length=MAX_REF_CHARS)] | None = None
    type: Literal["file_binary", "file_datatable", "file_image", "file_text"] | None = None
    retention_policy: RetentionPolicy | None = None
    retention_limit: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


@dataclass
class Collected:
    """What became of the folder: the artifacts made, and why the others were not."""

    artifact_ids: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def prepare_artifacts_dir(directory: Path, owner_uid_gid: tuple[int, int] | None) -> Path:
    """A fresh, empty folder for one run (a stale one from a lost run is emptied first)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=DIR_MODE, parents=True)
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
    heartbeat: Callable[[], None] = lambda: None,
) -> Collected:
    """Turn the folder's files into artifacts of the execution, then remove the folder."""
    collected = Collected()
    try:
        manifest, files = await asyncio.to_thread(_survey, directory, collected, owner_uid)
        for relative in files:
            heartbeat()
            entry = manifest.get(relative, ManifestEntry())
            draft = ArtifactDraft(
                ref=entry.ref or f"{action_ref}/{relative}"[:MAX_REF_CHARS],
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
                made = await _keep_file(transactions, store, directory / relative, draft, owner_uid)
            except (errors.AttuneError, OSError) as refused:
                message = refused.message if isinstance(refused, errors.AttuneError) else refused
                collected.refused.append(f"{relative}: {message}")
            else:
                collected.artifact_ids.append(made)
    finally:
        await asyncio.to_thread(shutil.rmtree, directory, ignore_errors=True)
    return collected


def _survey(
    directory: Path, collected: Collected, owner_uid: int | None
) -> tuple[dict[str, ManifestEntry], list[str]]:
    """What the manifest says, and which files to keep (blocking: run in a thread)."""
    if not os.path.isdir(directory):
        return {}, []
    return _read_manifest(directory, collected, owner_uid), _files(directory, collected)


async def _keep_file(
    transactions: async_sessionmaker[AsyncSession],
    store: ArtifactStore,
    path: Path,
    draft: ArtifactDraft,
    owner_uid: int | None,
) -> int:
    def keep() -> Kept:
        with _open_own_file(path, owner_uid) as source:
            return store.keep(source, what=f"artifact {draft.name!r}")

    kept = await asyncio.to_thread(keep)
    async with transactions() as session, session.begin():
        artifact = await save_artifact(session, store, draft, kept)
        return artifact.id


def _open_own_file(path: Path, owner_uid: int | None) -> Any:
    """The file opened for reading, if it is a regular file of one link (and of
    `owner_uid`), never through a symbolic link; `OSError` saying why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if path.is_symlink():
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


def _files(directory: Path, collected: Collected) -> list[str]:
    """The folder's files, by their path in it, sorted; links and odd names refused."""
    found: list[str] = []
    for root, folders, names in os.walk(directory, followlinks=False):
        folders.sort()
        for name in sorted(names):
            relative = os.path.relpath(os.path.join(root, name), directory)
            if relative == MANIFEST:
                continue
            if not _is_plain_name(relative):
                collected.refused.append(
                    f"{relative.encode('utf-8', 'replace').decode()!r}: its name must be "
                    "printable UTF-8"
                )
                continue
            if len(found) == MAX_FILES:
                collected.refused.append(
                    f"{relative}: only the first {MAX_FILES} files become artifacts"
                )
                continue
            found.append(relative)
    return found


def _is_plain_name(relative: str) -> bool:
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return relative.isprintable() and len(relative) <= MAX_REF_CHARS // 2


def _read_manifest(
    directory: Path, collected: Collected, owner_uid: int | None
) -> dict[str, ManifestEntry]:
    """What the manifest says of each file; a bad manifest is named and ignored."""
    path = directory / MANIFEST
    if not os.path.lexists(path):
        return {}
    try:
        with _open_own_file(path, owner_uid) as source:
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
    for name, entry in raw.items():
        try:
            entries[name] = ManifestEntry.model_validate(entry)
        except ValidationError as invalid:
            first = invalid.errors()[0]
            where = ".".join(str(part) for part in (name, *first["loc"]))
            collected.refused.append(f"{MANIFEST}: {where}: {first['msg']} (ignored)")
    return entries
