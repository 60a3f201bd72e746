"""`POST /executions/{id}/re-run`: the same action again, as a new execution linked to the
original, with the original's parameters (secret values included) and the body's over them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from attune.engine.execution_requests import record_failed_execution
from db.engine import create_session_factory
from db.repositories import action as actions
from tests.conftest import api_client
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.inquiries import person, wait_for_inquiry
from tests.pack_folders import register_pack, write_pack

pytestmark = pytest.mark.usefixtures("worker")


def login_action(**fields: Any) -> dict[str, Any]:
    """`cat` on stdin: the action's stdout (its `result.result`) is the parameters it got."""
    return {
        "runner_type": "local-shell-cmd",
        "parameters": {
            "cmd": {"type": "string", "default": "cat"},
            "user": {"type": "string", "required": True},
            "password": {"type": "string", "secret": True},
        },
        **fields,
    }


async def login_pack(api: httpx.AsyncClient, root: Path) -> tuple[str, str]:
    """A pack of its own with the action `login`; (the pack's ref, the action's ref)."""
    ref = unique("pk")
    await register_pack(api, write_pack(root, ref, actions={"login": login_action()}))
    return ref, f"{ref}.login"


async def run(api: httpx.AsyncClient, action: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Run the action and wait for it to end; the execution as the API shows it."""
    response = await api.post(
        "/api/v1/executions", json={"action": action, "parameters": parameters}
    )
    assert response.status_code == 201, response.text
    return await wait_for_status(api, response.json()["id"])


async def rerun(api: httpx.AsyncClient, id: int, body: Any = None) -> httpx.Response:
    return await api.post(f"/api/v1/executions/{id}/re-run", json=body)


async def executions_of(api: httpx.AsyncClient, action: str) -> list[int]:
    response = await api.get("/api/v1/executions", params={"action": action})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_a_rerun_runs_again_with_the_original_parameters_secret_ones_included(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    _, action = await login_pack(api, tmp_path)
    password = f"hunter2-{unique()}"
    original = await run(api, action, {"user": "ann", "password": password})
    assert original["status"] == "completed", original

    response = await rerun(api, original["id"])

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != original["id"]
    assert created["rerun_of"] == original["id"]
    assert created["action_ref"] == action
    assert created["parameters"] == {"cmd": "cat", "user": "ann", "password": "********"}
    assert created["executor_id"] == original["executor_id"]
    again = await wait_for_status(api, created["id"])
    assert again["status"] == "completed", again
    # The original's secret value, unsealed, reached the action on stdin...
    assert again["result"]["result"] == {"cmd": "cat", "user": "ann", "password": password}
    # ...and is sealed again, in the new row only under the new row's id.
    assert again["parameters"]["password"] == "********"
    async with engine.connect() as connection:
        stored, sealed = (
            await connection.execute(
                text(
                    "SELECT parameters::text, secret_parameters FROM attune.execution WHERE id=:i"
                ),
                {"i": created["id"]},
            )
        ).one()
    assert password not in stored
    assert sealed is not None
    assert password not in sealed
    # The original is as it was.
    shown = (await api.get(f"/api/v1/executions/{original['id']}")).json()
    assert shown == original
    assert shown["rerun_of"] is None


async def test_the_body_parameters_replace_the_originals_of_their_names(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    _, action = await login_pack(api, tmp_path)
    original = await run(api, action, {"user": "ann", "password": "first"})

    other_user = await rerun(api, original["id"], {"parameters": {"user": "bob"}})
    new_password = await rerun(api, original["id"], {"parameters": {"password": "second"}})

    assert other_user.status_code == new_password.status_code == 201
    assert other_user.json()["parameters"]["user"] == "bob"
    first = await wait_for_status(api, other_user.json()["id"])
    second = await wait_for_status(api, new_password.json()["id"])
    assert first["result"]["result"] == {"cmd": "cat", "user": "bob", "password": "first"}
    assert second["result"]["result"] == {"cmd": "cat", "user": "ann", "password": "second"}
    assert second["parameters"]["password"] == "********"
    # A re-run can be re-run: it links to the execution it repeats.
    third = await rerun(api, second["id"], {"parameters": {"cmd": "cat; echo"}})
    assert third.status_code == 201, third.text
    assert third.json()["rerun_of"] == second["id"]
    assert (await wait_for_status(api, third.json()["id"]))["result"]["stdout"].startswith(
        '{"cmd": "cat; echo", "user": "ann", "password": "second"}'
    )


@pytest.mark.parametrize(
    ("parameters", "field"),
    [({"user": 3}, "user"), ({"colour": "red"}, "colour"), ({"password": ["x"]}, "password")],
)
async def test_a_bad_merged_parameter_is_a_422_naming_it_and_writes_nothing(
    api: httpx.AsyncClient, tmp_path: Path, parameters: dict[str, Any], field: str
) -> None:
    _, action = await login_pack(api, tmp_path)
    original = await run(api, action, {"user": "ann", "password": "pw"})

    response = await rerun(api, original["id"], {"parameters": parameters})

    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["field"] == field
    assert field in response.json()["error"]["message"]
    assert await executions_of(api, action) == [original["id"]]
    assert (await api.get(f"/api/v1/executions/{original['id']}")).json() == original


@pytest.mark.parametrize("body", [{"parameters": []}, {"parameters": "x"}, []])
async def test_a_body_that_is_not_the_shape_is_a_422(
    api: httpx.AsyncClient, tmp_path: Path, body: Any
) -> None:
    _, action = await login_pack(api, tmp_path)
    original = await run(api, action, {"user": "ann"})

    response = await rerun(api, original["id"], body)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert await executions_of(api, action) == [original["id"]]


@pytest.mark.parametrize(("id", "status"), [(2**62, 404), (2**63, 422), (0, 422), ("x", 422)])
async def test_an_unknown_or_impossible_id_is_refused(
    api: httpx.AsyncClient, id: object, status: int
) -> None:
    response = await api.post(f"/api/v1/executions/{id}/re-run")

    assert response.status_code == status, response.text
    if status == 404:
        assert str(id) in response.json()["error"]["message"]
    else:
        assert response.json()["error"]["details"]["errors"][0]["field"] == "path.id"


async def test_a_disabled_action_is_a_409_and_a_removed_one_a_404(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    pack, action = await login_pack(api, tmp_path)
    original = await run(api, action, {"user": "ann"})
    disabled = login_action(enabled=False)
    await register_pack(api, write_pack(tmp_path / "v2", pack, actions={"login": disabled}))

    refused = await rerun(api, original["id"])

    assert refused.status_code == 409, refused.text
    assert action in refused.json()["error"]["message"]
    await register_pack(api, write_pack(tmp_path / "v3", pack, actions={}))
    gone = await rerun(api, original["id"])
    assert gone.status_code == 404, gone.text
    assert action in gone.json()["error"]["message"]
    assert await executions_of(api, action) == [original["id"]]


async def test_a_full_queue_refuses_the_rerun_with_429(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    _, action = await login_pack(api, tmp_path)
    original = await run(api, action, {"user": "ann"})
    policy = {"name": "gate", "action": action, "concurrency": {"limit": 1}, "method": "cancel"}
    assert (await api.post("/api/v1/policies", json=policy)).status_code == 201
    blocker = await api.post(
        "/api/v1/executions",
        json={"action": action, "parameters": {"user": "x", "cmd": "sleep 30"}},
    )
    assert blocker.status_code == 201, blocker.text
    await wait_for_status(api, blocker.json()["id"], {"running"})

    refused = await rerun(api, original["id"])

    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "policy_violation"
    assert sorted(await executions_of(api, action)) == [original["id"], blocker.json()["id"]]
    await api.post(f"/api/v1/executions/{blocker.json()['id']}/cancel")
    await wait_for_status(api, blocker.json()["id"])


async def test_another_identity_cannot_reuse_the_originals_secrets(
    api: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    _, action = await login_pack(api, tmp_path)
    password = f"hunter2-{unique()}"
    original = await run(api, action, {"user": "ann", "password": password})

    async with person(engine, settings, "mallory") as mallory:
        # Pointed elsewhere, the original's password would go wherever she says.
        refused = await rerun(mallory.api, original["id"], {"parameters": {"user": "eve"}})
        given = await rerun(mallory.api, original["id"], {"parameters": {"password": "own"}})

    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert "password" in error["message"]
    assert error["details"]["parameters"] == ["password"]
    assert given.status_code == 201, given.text
    shown = await wait_for_status(api, given.json()["id"])
    assert shown["result"]["result"] == {"cmd": "cat", "user": "ann", "password": "own"}
    assert password not in str(shown)
    assert sorted(await executions_of(api, action)) == [original["id"], given.json()["id"]]


async def test_without_the_encryption_key_a_secret_cannot_be_rerun(
    api: httpx.AsyncClient, settings: Settings, admin_token: str, tmp_path: Path
) -> None:
    _, action = await login_pack(api, tmp_path)
    original = await run(api, action, {"user": "ann", "password": "pw"})
    keyless = settings.model_copy(update={"encryption_key": None})

    async with api_client(keyless, token=admin_token) as other:
        refused = await rerun(other, original["id"])

    assert refused.status_code == 503, refused.text
    assert "ATTUNE_ENCRYPTION_KEY" in refused.json()["error"]["message"]
    assert await executions_of(api, action) == [original["id"]]


async def test_a_sealed_secret_that_does_not_decrypt_is_a_409_unless_replaced(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    _, action = await login_pack(api, tmp_path)
    first = await run(api, action, {"user": "ann", "password": "one"})
    second = await run(api, action, {"user": "bob", "password": "two"})
    # The second row given the first one's ciphertext: bound to the first id, it is refused.
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE attune.execution SET secret_parameters = "
                "(SELECT secret_parameters FROM attune.execution WHERE id = :first) "
                "WHERE id = :second"
            ),
            {"first": first["id"], "second": second["id"]},
        )

    refused = await rerun(api, second["id"])
    replaced = await rerun(api, second["id"], {"parameters": {"password": "three"}})

    assert refused.status_code == 409, refused.text
    assert "cannot decrypt" in refused.json()["error"]["message"]
    assert replaced.status_code == 201, replaced.text
    shown = await wait_for_status(api, replaced.json()["id"])
    assert shown["result"]["result"] == {"cmd": "cat", "user": "bob", "password": "three"}


async def test_a_secret_the_original_never_kept_must_be_given_again(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    _, action = await login_pack(api, tmp_path)
    # As a rule writes an execution that failed before it ran: its secret masked, not kept.
    async with create_session_factory(engine).begin() as session:
        row = await actions.repository.get_by_key(session, action)
        failed = await record_failed_execution(
            session,
            action=row,
            action_ref=action,
            parameters={"user": "ann", "password": "********"},
            error="never ran",
        )

    without = await rerun(api, failed.id)
    given = await rerun(api, failed.id, {"parameters": {"password": "fresh"}})

    assert without.status_code == 201, without.text
    assert given.status_code == 201, given.text
    unset = await wait_for_status(api, without.json()["id"])
    set_again = await wait_for_status(api, given.json()["id"])
    # Never run with the mask as if it were the value.
    assert unset["result"]["result"] == {"cmd": "cat", "user": "ann"}
    assert set_again["result"]["result"] == {"cmd": "cat", "user": "ann", "password": "fresh"}


async def test_a_rerun_of_core_ask_asks_again(api: httpx.AsyncClient) -> None:
    parameters = {"prompt": f"Ship {unique()}?", "ttl": 300}
    created = await api.post(
        "/api/v1/executions", json={"action": "core.ask", "parameters": parameters}
    )
    assert created.status_code == 201, created.text
    first = await wait_for_inquiry(api, created.json()["id"])

    response = await rerun(api, created.json()["id"], {"parameters": {"ttl": 120}})

    assert response.status_code == 201, response.text
    assert response.json()["rerun_of"] == created.json()["id"]
    second = await wait_for_inquiry(api, response.json()["id"])
    assert second["id"] != first["id"]
    assert second["prompt"] == parameters["prompt"]
    for id in (created.json()["id"], response.json()["id"]):
        assert (await api.post(f"/api/v1/executions/{id}/cancel")).status_code == 202
        assert (await wait_for_status(api, id))["status"] == "cancelled"
