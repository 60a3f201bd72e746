"""`DELETE /api/v1/packs/{ref}`: a pack and its components go, its timer stops, history
keeps naming it; what removing would break is refused with the reason."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError

from db.models import ExecutionStatus
from db.repositories import action as actions
from tests.conftest import TemporalServer
from tests.db.factories import make_execution, unique
from tests.executions import wait_for_status
from tests.pack_folders import register_pack, write_pack
from workflows.ids import schedule_id_for

V1 = "/api/v1"
YEARLY = {"type": "core.cron", "parameters": {"expression": "0 0 1 1 *"}}


def full_pack(root: Path, ref: str) -> Path:
    """A pack with one of each: an action, a trigger, a rule on each, a timer, a policy."""
    return write_pack(
        root,
        ref,
        actions={"work": {"runner_type": "noop"}},
        triggers={"alert": {"type": "custom"}},
        rules={
            "on_alert": {"trigger": f"{ref}.alert", "action": {"ref": f"{ref}.work"}},
            "yearly": {"trigger": YEARLY, "action": {"ref": f"{ref}.work"}},
        },
        policies={"paced": {"action": f"{ref}.work", "concurrency": {"limit": 1}}},
    )


@pytest.mark.usefixtures("worker")
async def test_a_removed_pack_takes_its_components_and_timer_and_history_keeps_its_refs(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path, session: AsyncSession
) -> None:
    ref = unique("gone")
    await register_pack(api, full_pack(tmp_path, ref))
    emitted = await api.post(f"{V1}/events", json={"trigger": f"{ref}.alert", "payload": {}})
    assert emitted.status_code == 202, emitted.text
    execution_id = emitted.json()["execution_ids"][0]
    ended = await make_execution(
        session,
        await actions.repository.get_by_key(session, f"{ref}.work"),
        status=ExecutionStatus.COMPLETED,
    )
    await session.commit()
    schedule = temporal.client.get_schedule_handle(schedule_id_for(f"{ref}.yearly"))
    assert (await schedule.describe()).id == schedule.id
    assert (await wait_for_status(api, execution_id))["status"] == "completed"

    removed = await api.delete(f"{V1}/packs/{ref}")

    assert removed.status_code == 200, removed.text
    assert removed.json() == {
        "pack": ref,
        "actions": 1,
        "triggers": 1,
        "rules": 2,
        "policies": 1,
        "sensors": 0,
        "permission_sets": 0,
    }
    for path in (
        f"packs/{ref}",
        f"actions/{ref}.work",
        f"triggers/{ref}.alert",
        f"rules/{ref}.on_alert",
        f"policies/{ref}.paced",
    ):
        assert (await api.get(f"{V1}/{path}")).status_code == 404, path
    kept = (await api.get(f"{V1}/executions/{ended.id}")).json()
    assert kept["action_ref"] == f"{ref}.work"
    event = (await api.get(f"{V1}/events/{emitted.json()['event_id']}")).json()
    assert event["trigger_ref"] == f"{ref}.alert"
    with pytest.raises(RPCError):
        await schedule.describe()
    assert (await api.delete(f"{V1}/packs/{ref}")).status_code == 404


async def test_the_core_pack_is_not_removed(api: httpx.AsyncClient) -> None:
    refused = await api.delete(f"{V1}/packs/core")

    assert refused.status_code == 409
    assert "pack core is Attune's own" in refused.json()["error"]["message"]
    assert (await api.get(f"{V1}/actions/core.noop")).status_code == 200


async def test_a_pack_whose_actions_still_run_is_not_removed(
    api: httpx.AsyncClient, tmp_path: Path, session: AsyncSession
) -> None:
    ref = unique("busy")
    await register_pack(api, write_pack(tmp_path, ref, actions={"work": {"runner_type": "noop"}}))
    action = await actions.repository.get_by_key(session, f"{ref}.work")
    running = await make_execution(session, action, status=ExecutionStatus.RUNNING)
    await session.commit()

    refused = await api.delete(f"{V1}/packs/{ref}")

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert f"executions not yet ended ({running.id})" in error["message"]
    assert error["details"]["executions"] == [running.id]
    assert (await api.get(f"{V1}/actions/{ref}.work")).status_code == 200


async def test_a_pack_another_packs_rule_uses_is_not_removed(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    used, user = unique("used"), unique("user")
    await register_pack(api, write_pack(tmp_path, used, actions={"work": {"runner_type": "noop"}}))
    rule = {"trigger": "core.webhook", "action": {"ref": f"{used}.work"}}
    await register_pack(api, write_pack(tmp_path, user, rules={"calls": rule}))

    refused = await api.delete(f"{V1}/packs/{used}")

    assert refused.status_code == 409
    assert (
        f"used by other packs' rules or policies ({user}.calls)"
        in (refused.json()["error"]["message"])
    )
    assert (await api.delete(f"{V1}/packs/{user}")).status_code == 200
    assert (await api.delete(f"{V1}/packs/{used}")).status_code == 200
