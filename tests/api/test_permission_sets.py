"""Permission sets through the API: custom ones made, changed, deleted; built-in and pack
sets only read; every change audited."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from tests.db.factories import unique
from tests.pack_folders import register_pack, write_pack

RUNNER = [{"resource": "pack", "verbs": ["view", "execute"], "refs": ["deploy"]}]


async def test_a_custom_set_is_made_changed_and_deleted(api: httpx.AsyncClient) -> None:
    name = unique("team")

    created = await api.post(
        "/api/v1/permission-sets", json={"name": name, "description": "d", "grants": RUNNER}
    )
    assert created.status_code == 201, created.text
    assert created.json()["grants"] == [
        {"resource": "pack", "verbs": ["execute", "view"], "refs": ["deploy"]}
    ]
    assert created.json()["builtin"] is False
    taken = await api.post("/api/v1/permission-sets", json={"name": name, "grants": RUNNER})
    assert taken.status_code == 409

    changed = await api.patch(
        f"/api/v1/permission-sets/{name}",
        json={"grants": [{"resource": "execution", "verbs": ["view"]}]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "d"
    assert changed.json()["grants"] == [{"resource": "execution", "verbs": ["view"]}]

    deleted = await api.delete(f"/api/v1/permission-sets/{name}")
    assert deleted.status_code == 204
    assert (await api.get(f"/api/v1/permission-sets/{name}")).status_code == 404
    trail = (await api.get("/api/v1/audit", params={"limit": 50})).json()["items"]
    actions = [row["action"] for row in trail if row["target"] == name]
    assert actions == [
        "permission_set.delete",
        "permission_set.update",
        "permission_set.create",
    ]


async def test_bad_sets_are_refused_naming_the_field(api: httpx.AsyncClient) -> None:
    cases = [
        ({"name": "Bad Name", "grants": RUNNER}, "name"),
        ({"name": "pack.like", "grants": RUNNER}, "name"),
        (
            {"name": unique("x"), "grants": [{"resource": "rocket", "verbs": ["view"]}]},
            "grants[0].resource",
        ),
        (
            {"name": unique("x"), "grants": [{"resource": "key", "verbs": ["execute"]}]},
            "grants[0].verbs[0]",
        ),
    ]
    for body, field in cases:
        refused = await api.post("/api/v1/permission-sets", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"]["field"] == field


async def test_built_in_and_pack_sets_cannot_be_changed_through_the_api(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("ps")
    folder = write_pack(tmp_path, ref)
    (folder / "permission_sets").mkdir()
    (folder / "permission_sets" / "runner.yaml").write_text(yaml.safe_dump({"grants": RUNNER}))
    await register_pack(api, folder)

    listed = {
        item["name"]: item for item in (await api.get("/api/v1/permission-sets")).json()["items"]
    }
    assert {"admin", "operator", "observer"} <= set(listed)
    assert listed["admin"]["builtin"] is True
    assert listed[f"{ref}.runner"]["pack"] == ref
    for name in ("operator", f"{ref}.runner"):
        changed = await api.patch(f"/api/v1/permission-sets/{name}", json={"description": "x"})
        deleted = await api.delete(f"/api/v1/permission-sets/{name}")
        assert changed.status_code == 409, changed.text
        assert deleted.status_code == 409, deleted.text
    assert (
        "built in" in (await api.delete("/api/v1/permission-sets/admin")).json()["error"]["message"]
    )
