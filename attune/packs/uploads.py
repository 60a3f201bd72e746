"""Packs uploaded as archives: unpacked into the packs folder, one folder per upload.

An upload lands in `<first packs folder>/.uploaded/<ref>/<digest of the archive>/`, apart
from the folders operators register by path, and a registration never rewrites the files
an older one pointed at: a run that started on the old files keeps them while it runs.
Once a registration has committed, all but the newest `KEPT_VERSIONS` of the pack's
uploads are removed (never the one registered); an upload whose registration failed is
removed at once.

Workflow code (python-workflow actions) runs inside the worker process, with the worker's
privileges: unlike an action it gets no process of its own, so ATTUNE_ACTION_USER does not
confine it. Where uploaders are not trusted that far, ATTUNE_ALLOW_UPLOADED_WORKFLOWS=false
refuses such packs (403); an operator can still register them by path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from attune import errors
from attune.data_dir import prepare_packs_dir
from attune.packs.archive import extract_pack_archive
from attune.packs.definitions import PackDefinition
from attune.packs.loader import load_pack

UPLOADS_FOLDER = ".uploaded"
KEPT_VERSIONS = 3
DIGEST_CHARS = 16


@dataclass(frozen=True)
class StoredUpload:
    """An upload unpacked and loaded: its pack (at its new home), and whether this upload
    made that home (a second upload of the same archive finds it there)."""

    definition: PackDefinition
    home: Path
    created: bool


def store_uploaded_pack(
    archive: IO[bytes], packs_folder: Path, *, allow_workflows: bool = True
) -> StoredUpload:
    """Unpack, check and keep an uploaded pack archive.

    Raises `ValidationError` (or `PackError`) naming the problem, or `PermissionDenied` for
    workflow code when `allow_workflows` is false, leaving nothing behind.
    Blocking: run it in a thread.
    """
    uploads = packs_folder / UPLOADS_FOLDER
    prepare_packs_dir(uploads)
    digest = _digest(archive)
    incoming = Path(tempfile.mkdtemp(prefix=".incoming-", dir=uploads))
    try:
        folder = extract_pack_archive(archive, incoming / "pack")
        definition = load_pack(folder)
        if not allow_workflows:
            refuse_workflow_code(definition)
        home = uploads / definition.ref / digest[:DIGEST_CHARS]
        created = _move_in(folder, home)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    # Loaded where it was unpacked; the same files now live at `home`.
    return StoredUpload(replace(definition, path=home.resolve()), home, created)


def refuse_workflow_code(definition: PackDefinition) -> None:
    """Raise `PermissionDenied` naming the pack's python-workflow actions, if it has any."""
    if definition.workflow_code is None:
        return
    names = ", ".join(a.name for a in definition.actions if a.code_digest is not None)
    raise errors.PermissionDenied(
        f"pack {definition.ref}: python-workflow actions ({names}) may not be uploaded here: "
        "their code would run inside the worker process (ATTUNE_ALLOW_UPLOADED_WORKFLOWS is "
        "false); an operator can place the pack under ATTUNE_PACKS_DIRS and register it "
        "by path",
        details={"pack": definition.ref, "actions": names.split(", ")},
    )


def discard_upload(stored: StoredUpload) -> None:
    """Remove an upload whose registration failed, unless an earlier upload made it."""
    if stored.created:
        shutil.rmtree(stored.home, ignore_errors=True)


def prune_uploads(stored: StoredUpload) -> None:
    """Once `stored` is registered: all but the newest versions of its pack go."""
    others = []
    for path in stored.home.parent.iterdir():
        if path != stored.home:
            with contextlib.suppress(FileNotFoundError):  # pruned meanwhile by another
                others.append((path.stat().st_mtime, path))
    others.sort(reverse=True)
    for _, old in others[KEPT_VERSIONS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def forget_uploads(packs_folder: Path, ref: str) -> None:
    """Once the pack `ref` is removed: every uploaded version of it goes."""
    shutil.rmtree(packs_folder / UPLOADS_FOLDER / ref, ignore_errors=True)


def _move_in(folder: Path, home: Path) -> bool:
    """Move the unpacked pack to `home`; False when the same archive is there already."""
    if home.exists():
        os.utime(home)  # the same archive again: now the newest version
        return False
    home.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.rename(home)
    except OSError:
        if not home.is_dir():  # not the same upload arriving at the same moment
            raise
        return False
    return True


def _digest(archive: IO[bytes]) -> str:
    hasher = hashlib.sha256()
    for chunk in iter(lambda: archive.read(1024 * 1024), b""):
        hasher.update(chunk)
    archive.seek(0)
    return hasher.hexdigest()
