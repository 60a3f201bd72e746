"""Pack folders on disk for tests, written from plain dicts in a line each."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from attune.packs.archive_build import build_pack_archive


def write_pack(
    root: Path,
    ref: str,
    *,
    actions: Mapping[str, Mapping[str, Any]] | None = None,
    triggers: Mapping[str, Mapping[str, Any]] | None = None,
    rules: Mapping[str, Mapping[str, Any]] | None = None,
    policies: Mapping[str, Mapping[str, Any]] | None = None,
    scripts: Mapping[str, str] | None = None,
    **pack_fields: Any,
) -> Path:
    """Write `root/ref` as a pack; `scripts` are files under `actions/` (made executable)."""
    folder = root / ref
    folder.mkdir(parents=True)
    pack = {"ref": ref, "label": ref.title(), "version": "1.0.0"} | pack_fields
    (folder / "pack.yaml").write_text(yaml.safe_dump(pack))
    kinds = (("actions", actions), ("triggers", triggers), ("rules", rules), ("policies", policies))
    for kind, components in kinds:
        for name, fields in (components or {}).items():
            (folder / kind).mkdir(exist_ok=True)
            (folder / kind / f"{name}.yaml").write_text(yaml.safe_dump(dict(fields)))
    for name, text in (scripts or {}).items():
        script = folder / "actions" / name
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(text)
        script.chmod(0o755)
    return folder


async def register_pack(api: httpx.AsyncClient, folder: Path) -> dict[str, Any]:
    """Register the folder through the API, insisting that it is accepted."""
    response = await api.post("/api/v1/packs/register", json={"path": str(folder)})
    assert response.status_code == 200, response.text
    summary: dict[str, Any] = response.json()
    return summary


async def upload_pack(api: httpx.AsyncClient, folder: Path) -> httpx.Response:
    """Upload the folder as `attune pack register` does; `api`'s base URL ends in /api/v1."""
    archive = build_pack_archive(folder)
    return await api.post(
        "/packs/upload", content=archive, headers={"content-type": "application/gzip"}
    )
