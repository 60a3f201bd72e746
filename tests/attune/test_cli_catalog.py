"""`attune pack|action|trigger|rule|policy|event|enforcement ...` against a real API: tables
for people, `-o json` and `-o yaml` the API's own answer, errors the API's message."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from tests.attune import test_cli_inquiries
from tests.attune.test_cli_inquiries import Ran, RunAttune
from tests.db.factories import unique
from tests.pack_folders import write_pack

api_url = test_cli_inquiries.api_url
cli = test_cli_inquiries.cli


def rows(ran: Ran) -> dict[str, list[str]]:
    """A table's rows by their first cell, after its header."""
    assert ran.code == 0, ran.stderr
    return {line.split()[0]: line.split() for line in ran.stdout.splitlines()[1:] if line.strip()}


def sample_pack(root: Path, ref: str) -> Path:
    return write_pack(
        root,
        ref,
        actions={
            "work": {
                "runner_type": "noop",
                "description": "Does [bold]nothing[/bold]",
                "parameters": {"n": {"type": "integer"}},
            }
        },
        triggers={"alert": {"type": "custom"}},
        rules={"on_alert": {"trigger": f"{ref}.alert", "action": {"ref": f"{ref}.work"}}},
        policies={"one": {"action": f"{ref}.work", "concurrency": {"limit": 2}}},
    )


@pytest.fixture
async def registered(cli: RunAttune, tmp_path: Path) -> str:
    """A pack registered through `attune pack register`; its ref."""
    ref = unique("cat")
    ran = await cli("pack", "register", str(sample_pack(tmp_path, ref)))
    assert ran.code == 0, ran.stderr
    assert f"pack {ref} created" in ran.stdout
    assert f"actions: 0 unchanged; created {ref}.work" in ran.stdout
    return ref


async def test_each_kind_lists_as_a_table_and_json_and_yaml_are_the_apis_items(
    cli: RunAttune, api: httpx.AsyncClient, registered: str
) -> None:
    ref = registered
    actions = rows(await cli("action", "list", "--pack", ref))
    triggers = rows(await cli("trigger", "list", "--pack", ref))
    rules = rows(await cli("rule", "list", "--pack", ref))
    policies = rows(await cli("policy", "list", "--pack", ref))
    packs = rows(await cli("pack", "list"))

    # Markup in a description is shown as written, never read as a style.
    assert actions[f"{ref}.work"] == [
        f"{ref}.work",
        "noop",
        "enabled",
        "Does",
        "[bold]nothing[/bold]",
    ]
    assert triggers[f"{ref}.alert"][1:3] == ["custom", "enabled"]
    assert rules[f"{ref}.on_alert"][1:] == ["enabled", f"{ref}.alert", f"{ref}.work"]
    assert policies[f"{ref}.one"][1:5] == [f"{ref}.work", "enabled", "2", "enqueue"]
    assert packs[ref][1] == "1.0.0"
    for kind in ("action", "trigger", "rule", "policy"):
        as_json = await cli(kind, "list", "--pack", ref, "-o", "json")
        as_yaml = await cli(kind, "list", "--pack", ref, "-o", "yaml")
        api_items = (
            await api.get(
                f"/api/v1/{'policies' if kind == 'policy' else kind + 's'}", params={"pack": ref}
            )
        ).json()["items"]
        assert json.loads(as_json.stdout) == api_items, kind
        assert yaml.safe_load(as_yaml.stdout) == api_items, kind


async def test_get_shows_one_item_and_a_missing_one_exits_1_with_the_apis_message(
    cli: RunAttune, registered: str
) -> None:
    ref = registered
    action = await cli("action", "get", f"{ref}.work")
    as_json = await cli("action", "get", f"{ref}.work", "-o", "json")
    rule = await cli("rule", "get", f"{ref}.on_alert")
    policy = await cli("policy", "get", f"{ref}.one", "-o", "json")
    trigger = await cli("trigger", "get", f"{ref}.alert", "-o", "yaml")
    pack = await cli("pack", "get", ref, "-o", "json")
    missing = await cli("action", "get", f"{ref}.nope")

    assert action.code == 0, action.stderr
    assert action.stdout.splitlines()[0].split() == ["id", str(json.loads(as_json.stdout)["id"])]
    assert f"ref {ref}.work" in " ".join(action.stdout.split())
    assert '"type": "integer"' in action.stdout  # the parameters' schema, as indented JSON
    assert json.loads(as_json.stdout)["runner_type"] == "noop"
    assert f"action_ref {ref}.work" in " ".join(rule.stdout.split())
    assert json.loads(policy.stdout)["concurrency"]["limit"] == 2
    assert yaml.safe_load(trigger.stdout)["ref"] == f"{ref}.alert"
    assert json.loads(pack.stdout)["ref"] == ref
    assert missing.code == 1
    assert "HTTP 404" in missing.stderr
    assert f"{ref}.nope" in missing.stderr


async def test_an_emitted_event_runs_its_rule_and_shows_in_events_and_enforcements(
    cli: RunAttune, registered: str
) -> None:
    ref = registered
    emitted = await cli("event", "emit", f"{ref}.alert", "--payload", '{"host": "web1"}')
    as_json = await cli("event", "emit", f"{ref}.alert", "-o", "json")
    bad = await cli("event", "emit", f"{ref}.alert", "--payload", "[1]")
    unknown = await cli("event", "emit", f"{ref}.nothing")

    assert emitted.code == 0, emitted.stderr
    assert "1 rule(s) matched, executions started:" in emitted.stdout
    event_id = int(emitted.stdout.split()[1].rstrip(":"))
    second = json.loads(as_json.stdout)
    assert len(second["execution_ids"]) == 1
    assert bad.code == 2
    assert "--payload must be a JSON object" in bad.stderr
    assert unknown.code == 1
    assert "HTTP 404" in unknown.stderr

    events = rows(await cli("event", "list", "--trigger", f"{ref}.alert"))
    assert list(events) == [str(second["event_id"]), str(event_id)]  # newest first
    assert events[str(event_id)][-1] == '{"host":"web1"}'
    shown = await cli("event", "get", str(event_id), "-o", "json")
    assert json.loads(shown.stdout)["payload"] == {"host": "web1"}
    enforcements = rows(await cli("enforcement", "list", "--rule", f"{ref}.on_alert"))
    assert enforcements[str(second["enforcement_ids"][0])][1:3] == [
        f"{ref}.on_alert",
        str(second["event_id"]),
    ]
    one = await cli("enforcement", "get", str(second["enforcement_ids"][0]), "-o", "json")
    assert json.loads(one.stdout)["event_id"] == second["event_id"]


async def test_pack_remove_asks_first_then_removes_the_pack(
    cli: RunAttune, registered: str
) -> None:
    ref = registered
    declined = await cli("pack", "remove", ref)  # no answer on stdin: not removed
    still = await cli("pack", "get", ref)
    removed = await cli("pack", "remove", ref, "--yes")
    gone = await cli("action", "get", f"{ref}.work")
    core = await cli("pack", "remove", "core", "--yes")

    assert declined.code == 1
    assert still.code == 0
    assert removed.code == 0, removed.stderr
    assert removed.stdout.strip() == (
        f"pack {ref} removed, with 1 actions, 1 triggers, 1 rules, 1 policies, 0 sensors, "
        "0 permission sets"
    )
    assert gone.code == 1
    assert "HTTP 404" in gone.stderr
    assert core.code == 1
    assert "HTTP 409" in core.stderr
    assert "Attune's own" in core.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["whoami"],
        ["identity", "list"],
        ["key", "list"],
        ["inquiry", "list"],
        ["worker", "list"],
        ["sensor", "list"],
        ["execution", "list", "--limit", "5"],
        ["event", "list", "--limit", "5"],
        ["enforcement", "list", "--limit", "5"],
        ["pack", "list"],
    ],
)
async def test_every_listing_prints_yaml_that_says_what_its_json_does(
    cli: RunAttune, command: list[str]
) -> None:
    as_json = await cli(*command, "-o", "json")
    as_yaml = await cli(*command, "-o", "yaml")
    as_table = await cli(*command)

    assert as_json.code == as_yaml.code == as_table.code == 0, as_json.stderr + as_yaml.stderr
    assert yaml.safe_load(as_yaml.stdout) == json.loads(as_json.stdout)
    assert as_table.stdout.strip()
