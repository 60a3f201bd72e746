"""What a python action (or any script) uses to leave artifacts: `from attune.sdk import
artifact`.

    artifact.write_text("report.md", summary)           # a file_text artifact
    artifact.write_bytes("graph.png", png)              # a file_image artifact
    artifact.write_table("hosts.csv", [{"host": "a", "ok": True}])
    artifact.progress(40, "copied 4 of 10")             # a progress artifact, updated
    artifact.link("https://tickets.example/T-1", "the ticket")

Files are written into the run's ATTUNE_ARTIFACTS_DIR and become artifacts of its
execution when the action ends (`attune.artifacts.collect`); `ref` and `type` given here
go into that folder's manifest. `progress` and `link` call the API at once with the
action's own token (ATTUNE_API_URL, ATTUNE_API_TOKEN), so a person watching sees them
while the action runs: the first `progress` of a ref creates its artifact, the next ones
update it. Standard library only, so any Python an action runs in can use it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST = "attune-artifacts.json"
TIMEOUT_SECONDS = 30.0
_progress_ids: dict[str, int] = {}


class ArtifactError(RuntimeError):
    """An artifact could not be made; the message says why (the API's own words)."""


def directory() -> Path:
    """The run's ATTUNE_ARTIFACTS_DIR; `ArtifactError` outside an action that has one."""
    folder = os.environ.get("ATTUNE_ARTIFACTS_DIR")
    if not folder:
        raise ArtifactError(
            "ATTUNE_ARTIFACTS_DIR is not set: artifact files can be written only by an action "
            "a worker runs (shell and python runners)"
        )
    return Path(folder)


def write_bytes(name: str, data: bytes, *, ref: str | None = None, type: str | None = None) -> Path:
    """Write `name` (a path inside the folder) with `data`; it becomes an artifact."""
    path = _path_of(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    _describe(name, ref=ref, type=type)
    return path


def write_text(name: str, text: str, *, ref: str | None = None, type: str | None = None) -> Path:
    """Write `name` with `text` (UTF-8); it becomes an artifact (file_text by default)."""
    return write_bytes(name, text.encode("utf-8"), ref=ref, type=type)


def write_table(
    name: str,
    rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
    *,
    ref: str | None = None,
) -> Path:
    """Write rows as CSV (dicts: their keys are the header); a file_datatable artifact."""
    buffer = io.StringIO()
    listed = list(rows)
    if listed and isinstance(listed[0], Mapping):
        header = list(dict.fromkeys(key for row in listed for key in row))
        writer = csv.DictWriter(buffer, fieldnames=header)
        writer.writeheader()
        writer.writerows(listed)  # type: ignore[arg-type]
    else:
        csv.writer(buffer).writerows(listed)
    return write_text(name, buffer.getvalue(), ref=ref)


def progress(percent: float, message: str = "", *, ref: str | None = None) -> int:
    """Show how far along the action is (0 to 100) at once; the artifact's id.

    The first call for a ref creates a progress artifact of this execution, the next
    update it (`PATCH`), so the API, the event stream and `attune artifact get` show each
    value as it comes."""
    ref = ref or f"{os.environ.get('ATTUNE_ACTION', 'action')}/progress"
    data = {"percent": percent, "message": message}
    known = _progress_ids.get(ref)
    if known is not None:
        _call("PATCH", f"/artifacts/{known}", {"data": data})
        return known
    made = _call("POST", "/artifacts", {"ref": ref, "type": "progress", "data": data})
    _progress_ids[ref] = int(made["id"])
    return _progress_ids[ref]


def link(url: str, title: str = "", *, ref: str | None = None) -> int:
    """Attach a link (a ticket, a dashboard) to this execution at once; the artifact's id."""
    ref = ref or f"{os.environ.get('ATTUNE_ACTION', 'action')}/link"
    made = _call(
        "POST", "/artifacts", {"ref": ref, "type": "url", "data": {"url": url, "title": title}}
    )
    return int(made["id"])


def _path_of(name: str) -> Path:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ArtifactError(f"{name!r}: an artifact's name is a relative path inside the folder")
    if str(relative) == MANIFEST:
        raise ArtifactError(f"{MANIFEST} is the folder's manifest, not an artifact")
    return directory() / relative


def _describe(name: str, *, ref: str | None, type: str | None) -> None:
    """Record what the manifest should say of `name`, when there is anything to say."""
    said = {key: value for key, value in (("ref", ref), ("type", type)) if value is not None}
    if not said:
        return
    manifest_path = directory() / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[str(PurePosixPath(name))] = said
    manifest_path.write_text(json.dumps(manifest))


def _call(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    url = os.environ.get("ATTUNE_API_URL")
    token = os.environ.get("ATTUNE_API_TOKEN")
    if not url or not token:
        raise ArtifactError(
            "ATTUNE_API_URL and ATTUNE_API_TOKEN are not set: only an action a worker runs "
            "can call the API for its artifacts"
        )
    request = urllib.request.Request(
        f"{url.rstrip('/')}/api/v1{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except urllib.error.HTTPError as refused:
        raise ArtifactError(f"{method} {path}: {refused.code} {_message(refused)}") from None
    except (urllib.error.URLError, TimeoutError) as unreachable:
        raise ArtifactError(f"{method} {path}: the API is unreachable ({unreachable})") from None


def _message(refused: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(refused.read())
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return str(refused.reason)
