"""Permission sets a pack ships: registered as `<pack>.NAME`, kept in step with the folder,
refused naming the file and field when a grant is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PermissionSet
from tests.db.factories import unique
from tests.pack_folders import register_pack, write_pack

RUNNER = {
    "description": "Runs the pack's actions and sees their executions.",
    "grants": [{"resource": "pack", "verbs": ["view", "execute"], "refs": ["PACK"]}],
}


def with_sets(folder: Path, sets: dict[str, Any]) -> None:
    kind = folder / "permission_sets"
    for old in kind.glob("*.yaml") if kind.exists() else []:
        old.unlink()
    kind.mkdir(exist_ok=True)
    for name, fields in sets.items():
        (kind / f"{name}.yaml").write_text(yaml.safe_dump(fields))


async def sets_of(session: AsyncSession, ref: str) -> dict[str, PermissionSet]:
    rows = await session.scalars(
        select(PermissionSet).where(PermissionSet.ref.startswith(f"{ref}."))
    )
    return {row.ref: row for row in rows}


async def test_a_packs_permission_sets_are_registered_and_follow_the_folder(
    api: httpx.AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    ref = unique("ps")
    folder = write_pack(tmp_path, ref)
    runner = {**RUNNER, "grants": [{**RUNNER["grants"][0], "refs": [ref]}]}  # type: ignore[dict-item]
    with_sets(
        folder,
        {
            "runner": runner,
            "watcher": {"grants": [{"resource": "execution", "verbs": ["view"], "packs": [ref]}]},
        },
    )

    summary = await register_pack(api, folder)

    assert summary["permission_sets"]["created"] == [f"{ref}.runner", f"{ref}.watcher"]
    stored = await sets_of(session, ref)
    assert stored[f"{ref}.runner"].grants == [
        {"resource": "pack", "verbs": ["execute", "view"], "refs": [ref]}
    ]
    assert stored[f"{ref}.runner"].description == RUNNER["description"]

    with_sets(folder, {"runner": runner})
    again = await register_pack(api, folder)

    assert again["permission_sets"]["unchanged"] == [f"{ref}.runner"]
    assert again["permission_sets"]["removed"] == [f"{ref}.watcher"]
    session.expire_all()
    assert set(await sets_of(session, ref)) == {f"{ref}.runner"}


async def test_a_bad_grant_refuses_the_pack_naming_the_file_and_field(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("ps")
    folder = write_pack(tmp_path, ref)
    with_sets(folder, {"broken": {"grants": [{"resource": "action", "verbs": ["decrypt"]}]}})

    refused = await api.post("/api/v1/packs/register", json={"path": str(folder)})

    assert refused.status_code == 422, refused.text
    problems = refused.json()["error"]["details"]["problems"]
    assert problems[0]["file"] == "permission_sets/broken.yaml"
    assert problems[0]["field"] == "grants[0].verbs[0]"
