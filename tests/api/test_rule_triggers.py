"""Rules with trigger parameters, timer rules refused with reasons, rules enabled and
disabled, and triggers no caller may fire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.db.factories import unique
from tests.pack_folders import write_pack
from tests.timers import timer_pack


async def problems_of(api: httpx.AsyncClient, folder: Path) -> list[dict[str, Any]]:
    response = await api.post("/api/v1/packs/register", json={"path": str(folder)})
    assert response.status_code == 422, response.text
    problems: list[dict[str, Any]] = response.json()["error"]["details"]["problems"]
    return problems


@pytest.mark.parametrize(
    ("trigger", "parameters", "field", "words"),
    [
        ("core.interval", {"unit": "fortnights", "delta": 1}, "trigger.parameters.unit", "is not"),
        ("core.interval", {"unit": "seconds"}, "trigger.parameters", "'delta' is a required"),
        ("core.interval", {"unit": "seconds", "delta": 1, "x": 1}, "trigger.parameters", "'x'"),
        ("core.cron", {"expression": "*/5 * *"}, "trigger.parameters.expression", "five"),
        (
            "core.cron",
            {"expression": "* * * * *", "timezone": "Mars/Base"},
            "trigger.parameters.timezone",
            "not a known time zone",
        ),
        ("core.cron", {"week": 2, "hour": 1}, "trigger.parameters.week", "week numbers"),
        ("core.date", {"date": "soon"}, "trigger.parameters.date", "ISO-8601"),
        ("core.date", {}, "trigger.parameters", "'date' is a required"),
    ],
)
async def test_a_bad_timer_is_refused_naming_file_and_field(
    api: httpx.AsyncClient,
    tmp_path: Path,
    trigger: str,
    parameters: dict[str, Any],
    field: str,
    words: str,
) -> None:
    folder = timer_pack(tmp_path, trigger, parameters)

    [problem] = await problems_of(api, folder)

    assert problem["file"] == "rules/tick.yaml"
    assert problem["field"] == field
    assert words in problem["message"]
    assert (await api.get(f"/api/v1/rules/{folder.name}.tick")).status_code == 404


async def test_parameters_on_a_trigger_that_takes_none_are_refused(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        rules={
            "r": {
                "trigger": {"type": "core.webhook", "parameters": {"path": "/x"}},
                "action": {"ref": "core.noop"},
            }
        },
    )

    [problem] = await problems_of(api, folder)

    assert (problem["file"], problem["field"]) == ("rules/r.yaml", "trigger.parameters")
    assert "takes no parameters" in problem["message"]


async def test_a_pack_trigger_checks_its_rules_parameters_against_its_schema(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("pk")
    schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    rule = {"trigger": {"type": f"{ref}.watch", "parameters": {"path": 3}}}
    folder = write_pack(
        tmp_path,
        ref,
        triggers={"watch": {"parameters_schema": schema}},
        rules={"r": rule | {"action": {"ref": "core.noop"}}},
    )

    [problem] = await problems_of(api, folder)
    assert problem["field"] == "trigger.parameters.path"

    fixed = rule | {"trigger": {"type": f"{ref}.watch", "parameters": {"path": "/var/log"}}}
    (folder / "rules" / "r.yaml").write_text(
        yaml.safe_dump(fixed | {"action": {"ref": "core.noop"}})
    )
    response = await api.post("/api/v1/packs/register", json={"path": str(folder)})
    assert response.status_code == 200, response.text
    read = (await api.get(f"/api/v1/rules/{ref}.r")).json()
    assert (read["trigger_ref"], read["trigger_parameters"]) == (
        f"{ref}.watch",
        {"path": "/var/log"},
    )


async def test_patch_enables_and_disables_any_rule_and_names_bad_input(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        triggers={"hook": {"type": "webhook"}},
        rules={"r": {"trigger": f"{ref}.hook", "action": {"ref": "core.noop"}}},
    )
    assert (await api.post("/api/v1/packs/register", json={"path": str(folder)})).status_code == 200

    off = await api.patch(f"/api/v1/rules/{ref}.r", json={"enabled": False})
    assert (off.status_code, off.json()["enabled"]) == (200, False)
    hook = await api.post(f"/api/v1/webhooks/{ref}.hook", json={})
    assert hook.json()["execution_ids"] == []  # a disabled rule runs nothing
    on = await api.patch(f"/api/v1/rules/{ref}.r", json={"enabled": True})
    assert (on.status_code, on.json()["enabled"]) == (200, True)

    missing = await api.patch(f"/api/v1/rules/{ref}.nope", json={"enabled": True})
    assert missing.status_code == 404
    assert f"{ref}.nope" in missing.json()["error"]["message"]
    for body in ({"enabled": "no"}, {}, {"enabled": True, "action_ref": "core.echo"}):
        bad = await api.patch(f"/api/v1/rules/{ref}.r", json=body)
        assert bad.status_code == 422, body


@pytest.mark.parametrize(
    "trigger", ["core.interval", "core.cron", "core.date", "core.execution_finished"]
)
async def test_no_caller_fires_a_timer_or_attunes_own_triggers(
    api: httpx.AsyncClient, trigger: str
) -> None:
    response = await api.post("/api/v1/events", json={"trigger": trigger, "payload": {}})

    assert response.status_code == 409
    assert "fired by Attune itself" in response.json()["error"]["message"]
