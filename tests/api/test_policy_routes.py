"""Policies over HTTP: create, read, list, change and delete, and every way a request is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.db.factories import unique
from tests.pack_folders import register_pack, write_pack

POLICIES = "/api/v1/policies"


@pytest.fixture
async def pack_ref(api: httpx.AsyncClient, tmp_path: Path) -> str:
    """A registered pack of this test's own with two actions, `work` and `other`."""
    ref = unique("pk")
    noop = {"runner_type": "noop"}
    await register_pack(api, write_pack(tmp_path, ref, actions={"work": noop, "other": noop}))
    return ref


async def create(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    """Create a policy, insisting that it is accepted."""
    response = await api.post(POLICIES, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def problems(response: httpx.Response) -> dict[str, str]:
    """The fields a 422 names, each with its message."""
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return {problem["field"]: problem["message"] for problem in error["details"]["errors"]}


async def test_create_answers_201_with_the_policy_nested_as_written(
    api: httpx.AsyncClient, pack_ref: str
) -> None:
    body = {
        "name": "throttle",
        "action": f"{pack_ref}.work",
        "concurrency": {"limit": 2, "max_queue_length": 5},
        "method": "cancel",
        "rate_limit": {"per_second": 10},
        "enabled": False,
        "label": "Throttle",
        "description": "Two at once",
    }

    created = await create(api, **body)

    assert {key: created.pop(key) for key in ("created", "updated")}.keys() == {
        "created",
        "updated",
    }
    assert created == {
        "ref": f"{pack_ref}.throttle",
        "pack": pack_ref,
        "name": "throttle",
        "action": f"{pack_ref}.work",
        "concurrency": {"limit": 2, "max_queue_length": 5, "on_full": "reject"},
        "method": "cancel",
        "rate_limit": {"per_second": 10.0},
        "enabled": False,
        "label": "Throttle",
        "description": "Two at once",
    }
    shown = (await api.get(f"{POLICIES}/{pack_ref}.throttle")).json()
    assert {key: value for key, value in shown.items() if key not in ("created", "updated")} == (
        created
    )


async def test_create_fills_the_defaults(api: httpx.AsyncClient, pack_ref: str) -> None:
    limited = await create(api, name="limited", action=f"{pack_ref}.work", concurrency={"limit": 1})
    paced = await create(api, name="paced", action=f"{pack_ref}.work", rate_limit={"per_second": 1})

    assert limited["concurrency"] == {"limit": 1, "max_queue_length": 10000, "on_full": "reject"}
    assert (limited["method"], limited["rate_limit"], limited["enabled"]) == ("enqueue", None, True)
    assert (limited["label"], limited["description"]) == (None, None)
    assert (paced["concurrency"], paced["rate_limit"]) == (None, {"per_second": 1.0})


async def test_list_filters_by_action_and_pack_and_pages(
    api: httpx.AsyncClient, pack_ref: str
) -> None:
    for name, action in (("a", "work"), ("b", "work"), ("c", "other")):
        await create(api, name=name, action=f"{pack_ref}.{action}", concurrency={"limit": 1})

    def refs(page: dict[str, Any]) -> list[str]:
        return [item["ref"] for item in page["items"]]

    by_pack = (await api.get(POLICIES, params={"pack": pack_ref})).json()
    by_action = (await api.get(POLICIES, params={"action": f"{pack_ref}.work"})).json()
    first = (await api.get(POLICIES, params={"pack": pack_ref, "limit": 2})).json()
    rest = (
        await api.get(
            POLICIES, params={"pack": pack_ref, "limit": 2, "offset": first["next_offset"]}
        )
    ).json()

    assert refs(by_pack) == [f"{pack_ref}.a", f"{pack_ref}.b", f"{pack_ref}.c"]
    assert by_pack["next_offset"] is None
    assert refs(by_action) == [f"{pack_ref}.a", f"{pack_ref}.b"]
    assert (refs(first), first["next_offset"]) == ([f"{pack_ref}.a", f"{pack_ref}.b"], 2)
    assert (refs(rest), rest["next_offset"]) == ([f"{pack_ref}.c"], None)
    nothing = (await api.get(POLICIES, params={"action": f"{pack_ref}.gone"})).json()
    assert nothing == {"items": [], "next_offset": None}


async def test_policies_registered_from_a_pack_folder_are_listed(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        actions={"work": {"runner_type": "noop"}},
        policies={"paced": {"action": f"{ref}.work", "rate_limit": {"per_second": 2}}},
    )

    summary = await register_pack(api, folder)

    assert summary["policies"]["created"] == [f"{ref}.paced"]
    shown = (await api.get(f"{POLICIES}/{ref}.paced")).json()
    assert (shown["action"], shown["rate_limit"], shown["concurrency"]) == (
        f"{ref}.work",
        {"per_second": 2.0},
        None,
    )


async def test_create_an_unknown_action_is_a_404_naming_it(
    api: httpx.AsyncClient, pack_ref: str
) -> None:
    missing = f"{pack_ref}.missing"

    response = await api.post(
        POLICIES, json={"name": "p", "action": missing, "concurrency": {"limit": 1}}
    )

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert missing in error["message"]
    assert (await api.get(f"{POLICIES}/{pack_ref}.p")).status_code == 404


async def test_create_a_taken_ref_is_a_409(api: httpx.AsyncClient, pack_ref: str) -> None:
    await create(api, name="p", action=f"{pack_ref}.work", concurrency={"limit": 1})

    # Same name, another action of the same pack: the same ref.
    response = await api.post(
        POLICIES, json={"name": "p", "action": f"{pack_ref}.other", "rate_limit": {"per_second": 1}}
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert f"{pack_ref}.p" in error["message"]
    kept = (await api.get(f"{POLICIES}/{pack_ref}.p")).json()
    assert (kept["action"], kept["rate_limit"]) == (f"{pack_ref}.work", None)


# (the body less `action`, the field named, a fragment of its message)
BAD_BODIES: list[tuple[dict[str, Any], str, str]] = [
    ({"name": "p"}, "body", "set concurrency, rate_limit or both"),
    ({"name": "p", "concurrency": None, "rate_limit": None}, "body", "or both"),
    ({"concurrency": {"limit": 1}}, "body.name", "Field required"),
    ({"name": "Not OK", "concurrency": {"limit": 1}}, "body.name", "pattern"),
    ({"name": "p", "concurrency": {"limit": 0}}, "body.concurrency.limit", "greater than or"),
    ({"name": "p", "concurrency": {"limit": "2"}}, "body.concurrency.limit", "valid integer"),
    ({"name": "p", "concurrency": {"limit": 1.5}}, "body.concurrency.limit", "valid integer"),
    ({"name": "p", "concurrency": {"limit": True}}, "body.concurrency.limit", "valid integer"),
    ({"name": "p", "concurrency": {"limit": 2**31}}, "body.concurrency.limit", "less than or"),
    (
        {"name": "p", "concurrency": {"limit": 1, "max_queue_length": -1}},
        "body.concurrency.max_queue_length",
        "greater than or equal to 0",
    ),
    (
        {"name": "p", "concurrency": {"limit": 1, "on_full": "drop"}},
        "body.concurrency.on_full",
        "'reject'",
    ),
    (
        {"name": "p", "concurrency": {"limit": 1}, "method": "later"},
        "body.method",
        "'enqueue' or 'cancel'",
    ),
    (
        {"name": "p", "rate_limit": {"per_second": 0}},
        "body.rate_limit.per_second",
        "greater than or equal to 0.001",
    ),
    (
        {"name": "p", "rate_limit": {"per_second": 1e-300}},
        "body.rate_limit.per_second",
        "greater than or equal to 0.001",
    ),
    (
        {"name": "p", "rate_limit": {"per_second": 1e308}},
        "body.rate_limit.per_second",
        "less than or equal to 10000",
    ),
    (
        {"name": "p", "rate_limit": {"per_second": "1"}},
        "body.rate_limit.per_second",
        "valid number",
    ),
    ({"name": "p", "concurrency": {"limit": 1}, "limit": 3}, "body.limit", "Extra inputs"),
    ({"name": "p", "concurrency": {"limit": 1}, "enabled": "yes"}, "body.enabled", "boolean"),
]


@pytest.mark.parametrize(("body", "field", "fragment"), BAD_BODIES)
async def test_create_a_bad_body_is_a_422_naming_the_field(
    api: httpx.AsyncClient, pack_ref: str, body: dict[str, Any], field: str, fragment: str
) -> None:
    response = await api.post(POLICIES, json={"action": f"{pack_ref}.work"} | body)

    found = problems(response)
    assert field in found, found
    assert fragment in found[field]
    listed = (await api.get(POLICIES, params={"pack": pack_ref})).json()
    assert listed["items"] == []


async def test_create_a_malformed_action_ref_is_a_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        POLICIES, json={"name": "p", "action": "no-dot", "concurrency": {"limit": 1}}
    )

    assert "body.action" in problems(response)


async def test_a_rate_that_is_not_finite_is_a_422(api: httpx.AsyncClient, pack_ref: str) -> None:
    # Python's JSON parser reads Infinity and NaN; the column must never hold them.
    for value in ("Infinity", "NaN"):
        content = (
            f'{{"name": "p", "action": "{pack_ref}.work", "rate_limit": {{"per_second": {value}}}}}'
        )
        response = await api.post(
            POLICIES, content=content, headers={"Content-Type": "application/json"}
        )

        assert "finite number" in problems(response)["body.rate_limit.per_second"]


async def test_patch_changes_only_the_fields_given(api: httpx.AsyncClient, pack_ref: str) -> None:
    ref = f"{pack_ref}.p"
    await create(
        api,
        name="p",
        action=f"{pack_ref}.work",
        concurrency={"limit": 2, "max_queue_length": 5},
        label="Before",
        description="Kept",
    )

    response = await api.patch(
        f"{POLICIES}/{ref}",
        json={"rate_limit": {"per_second": 0.5}, "method": "cancel", "label": None},
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["concurrency"] == {"limit": 2, "max_queue_length": 5, "on_full": "reject"}
    assert (changed["rate_limit"], changed["method"]) == ({"per_second": 0.5}, "cancel")
    assert (changed["label"], changed["description"], changed["enabled"]) == (None, "Kept", True)
    assert changed["updated"] > changed["created"]
    assert (await api.get(f"{POLICIES}/{ref}")).json() == changed

    # A nested object is replaced whole: what it leaves out takes its default.
    raised = (await api.patch(f"{POLICIES}/{ref}", json={"concurrency": {"limit": 4}})).json()
    assert raised["concurrency"] == {"limit": 4, "max_queue_length": 10000, "on_full": "reject"}
    # null removes a limit while the other remains.
    paced = (await api.patch(f"{POLICIES}/{ref}", json={"concurrency": None})).json()
    assert (paced["concurrency"], paced["rate_limit"]) == (None, {"per_second": 0.5})
    off = (await api.patch(f"{POLICIES}/{ref}", json={"enabled": False})).json()
    assert (off["enabled"], off["rate_limit"], off["method"]) == (
        False,
        {"per_second": 0.5},
        "cancel",
    )
    # An empty body changes nothing.
    same = await api.patch(f"{POLICIES}/{ref}", json={})
    assert (same.status_code, same.json()) == (200, off)


BAD_PATCHES: list[tuple[dict[str, Any], str, str]] = [
    ({"rate_limit": None}, "body", "set concurrency, rate_limit or both"),
    ({"concurrency": None, "rate_limit": None}, "body", "or both"),
    ({"name": "renamed"}, "body.name", "Extra inputs"),
    ({"action": "core.noop"}, "body.action", "Extra inputs"),
    ({"method": None}, "body.method", "not null"),
    ({"enabled": None}, "body.enabled", "not null"),
    ({"method": "later"}, "body.method", "'enqueue' or 'cancel'"),
    ({"concurrency": {"limit": 0}}, "body.concurrency.limit", "greater than or equal to 1"),
    ({"concurrency": {}}, "body.concurrency.limit", "Field required"),
    (
        {"rate_limit": {"per_second": -1}},
        "body.rate_limit.per_second",
        "greater than or equal to 0.001",
    ),
]


@pytest.mark.parametrize(("body", "field", "fragment"), BAD_PATCHES)
async def test_patch_a_bad_body_is_a_422_naming_the_field_and_changes_nothing(
    api: httpx.AsyncClient, pack_ref: str, body: dict[str, Any], field: str, fragment: str
) -> None:
    ref = f"{pack_ref}.p"
    before = await create(api, name="p", action=f"{pack_ref}.work", rate_limit={"per_second": 2})

    found = problems(await api.patch(f"{POLICIES}/{ref}", json=body))

    assert field in found, found
    assert fragment in found[field]
    assert (await api.get(f"{POLICIES}/{ref}")).json() == before


async def test_delete_answers_204_and_the_policy_is_gone(
    api: httpx.AsyncClient, pack_ref: str
) -> None:
    ref = f"{pack_ref}.p"
    await create(api, name="p", action=f"{pack_ref}.work", concurrency={"limit": 1})

    response = await api.delete(f"{POLICIES}/{ref}")

    assert (response.status_code, response.content) == (204, b"")
    assert (await api.get(f"{POLICIES}/{ref}")).status_code == 404
    assert (await api.get(POLICIES, params={"pack": pack_ref})).json()["items"] == []
    # The action is untouched.
    assert (await api.get(f"/api/v1/actions/{pack_ref}.work")).status_code == 200


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"enabled": False}), ("DELETE", None)]
)
async def test_an_unknown_policy_is_a_404_naming_it(
    api: httpx.AsyncClient, method: str, body: dict[str, Any] | None
) -> None:
    ref = f"{unique('pk')}.nothing"

    response = await api.request(method, f"{POLICIES}/{ref}", json=body)

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert ref in error["message"]
