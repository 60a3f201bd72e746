"""Loading pack folders: a good pack in full, and broken ones refused naming file and field."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from attune.packs.loader import load_pack
from attune.packs.problems import PackError
from tests.attune.packs.packdir import CORE, only_problem, problems_of, write_file, write_pack

ECHO: dict[str, Any] = {
    "description": "Say it back",
    "runner_type": "python-script",
    "entry_point": "echo.py:run",
    "parameters": {"message": {"type": "string", "required": True}},
    "timeout": 30,
}
RULE: dict[str, Any] = {
    "trigger": "sample.hook",
    "criteria": {"trigger.body.status": {"type": "equals", "pattern": "failed"}},
    "action": {"ref": "sample.echo", "parameters": {"message": "{{ trigger.body.text }}"}},
}


def test_a_good_pack_loads_in_full(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "sample",
        {
            "actions/echo.yaml": ECHO,
            "actions/echo.py": "def run(message):\n    return message\n",
            "actions/nothing.yml": {"name": "nothing", "runner_type": "noop", "enabled": False},
            "actions/lib/helper.sh": "echo hi\n",
            "actions/README.md": "not a component",
            "triggers/hook.yaml": {"type": "webhook", "payload_schema": {"type": "object"}},
            "rules/on_failure.yaml": RULE,
        },
        description="A sample",
        author="Tests",
        tags=["demo"],
        config_schema={"type": "object", "properties": {"url": {"type": "string"}}},
        config={"url": "https://example.com"},
    )
    pack = load_pack(folder)

    assert pack.path == folder.resolve()
    assert pack.path.is_absolute()
    assert (pack.ref, pack.label, pack.version) == ("sample", "Sample", "1.0.0")
    assert (pack.description, pack.author, pack.tags) == ("A sample", "Tests", ("demo",))
    assert pack.config == {"url": "https://example.com"}
    assert [action.name for action in pack.actions] == ["echo", "nothing"]
    echo, nothing = pack.actions
    assert echo.file == "actions/echo.yaml"
    assert echo.entry_point == "echo.py:run"
    assert echo.timeout_seconds == 30
    assert echo.parameters["required"] == ["message"]
    assert nothing.enabled is False
    assert nothing.parameters["properties"] == {}
    (hook,) = pack.triggers
    assert (hook.name, hook.trigger_type, hook.payload_schema) == (
        "hook",
        "webhook",
        {"type": "object"},
    )
    (rule,) = pack.rules
    assert (rule.file, rule.name, rule.trigger_ref, rule.action_ref) == (
        "rules/on_failure.yaml",
        "on_failure",
        "sample.hook",
        "sample.echo",
    )
    assert rule.action_parameters == {"message": "{{ trigger.body.text }}"}
    assert rule.criteria == RULE["criteria"]
    assert pack.ref_of(rule.name) == "sample.on_failure"


def test_minimal_pack_and_defaults(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path / "p", {"triggers/t.yaml": {"name": None}}))
    assert pack.triggers[0].name == "t"
    assert (pack.actions, pack.rules, pack.config, pack.config_schema) == ((), (), {}, {})
    assert pack.triggers[0].trigger_type == "custom"
    assert pack.triggers[0].payload_schema == {}


def test_the_core_pack_loads() -> None:
    pack = load_pack(CORE)
    assert pack.ref == "core"
    actions = {action.name: action for action in pack.actions}
    assert set(actions) == {"noop", "echo", "local", "http", "ask"}
    assert actions["ask"].runner_type == "inquirer"
    assert actions["ask"].parameters["required"] == ["prompt"]
    assert actions["ask"].parameters["properties"]["ttl"]["default"] == 86400
    assert actions["noop"].runner_type == "noop"
    assert actions["echo"].parameters["required"] == ["message"]
    assert actions["local"].timeout_seconds == 600
    assert actions["local"].parameters["required"] == ["cmd"]
    http = actions["http"].parameters
    assert http["required"] == ["url"]
    assert http["properties"]["method"]["default"] == "GET"
    assert "DELETE" in http["properties"]["method"]["enum"]
    assert http["properties"]["headers"]["default"] == {}
    assert "type" not in http["properties"]["body"]
    assert http["properties"]["timeout"] == {
        "type": "number",
        "description": "Seconds to wait for the response.",
        "default": 30,
    }
    assert http["properties"]["verify_tls"]["default"] is True
    triggers = {trigger.name: trigger for trigger in pack.triggers}
    assert {name: trigger.trigger_type for name, trigger in triggers.items()} == {
        "webhook": "webhook",
        "interval": "timer",
        "cron": "timer",
        "date": "timer",
        "execution_finished": "custom",
        "inquiry_created": "custom",
    }
    assert triggers["webhook"].payload_schema == {"type": "object"}
    assert triggers["interval"].parameters_schema["required"] == ["unit", "delta"]


def test_core_echo_returns_its_message() -> None:
    spec = importlib.util.spec_from_file_location("core_echo", CORE / "actions" / "echo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.run(message="hello") == "hello"


def test_not_a_folder(tmp_path: Path) -> None:
    for path in (tmp_path / "missing", write_pack(tmp_path / "p") / "pack.yaml"):
        problem = only_problem(path)
        assert (problem.file, problem.field) == (str(path), None)
        assert "not a folder" in problem.message


def test_no_pack_yaml(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    problem = only_problem(tmp_path / "empty")
    assert (problem.file, problem.field) == ("pack.yaml", None)
    assert "missing" in problem.message


# (pack.yaml overrides, files, the file and field named, a fragment of the message)
BROKEN: list[tuple[dict[str, Any], dict[str, Any], str, str | None, str]] = [
    ({"ref": None}, {}, "pack.yaml", "ref", "is required"),
    ({"ref": "Has.Dots"}, {}, "pack.yaml", "ref", "lowercase"),
    ({"label": None}, {}, "pack.yaml", "label", "is required"),
    ({"version": "1.0"}, {}, "pack.yaml", "version", "semantic version"),
    ({"version": 1.5}, {}, "pack.yaml", "version", "put it in quotes"),
    ({"colour": "red"}, {}, "pack.yaml", "colour", "unknown field"),
    ({"tags": "demo"}, {}, "pack.yaml", "tags", "list of strings"),
    ({"config": [1]}, {}, "pack.yaml", "config", "must be a mapping"),
    ({"config_schema": {"type": "nope"}}, {}, "pack.yaml", "config_schema.type", "JSON Schema"),
    (
        {"config_schema": {"properties": {"port": {"type": "integer"}}}, "config": {"port": "x"}},
        {},
        "pack.yaml",
        "config.port",
        "is not of type 'integer'",
    ),
    ({}, {"actions/a.yaml": {"description": "x"}}, "actions/a.yaml", "runner_type", "required"),
    ({}, {"actions/a.yaml": {"runner_type": "ssh"}}, "actions/a.yaml", "runner_type", "'ssh'"),
    ({}, {"actions/a.yaml": {"runner_type": "noop", "x": 1}}, "actions/a.yaml", "x", "unknown"),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "name": "b"}},
        "actions/a.yaml",
        "name",
        "differs from the file name 'a'",
    ),
    ({}, {"actions/Echo.yaml": {"runner_type": "noop"}}, "actions/Echo.yaml", "name", "'Echo'"),
    ({}, {"actions/a.yaml": {"runner_type": "noop", "name": 3}}, "actions/a.yaml", "name", "str"),
    (
        {},
        {"actions/a.yaml": {"runner_type": "python-script"}},
        "actions/a.yaml",
        "entry_point",
        "is required for runner 'python-script'",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "python-script", "entry_point": None}},
        "actions/a.yaml",
        "entry_point",
        "is required",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "python-script", "entry_point": ["a.py"]}},
        "actions/a.yaml",
        "entry_point",
        "must be a string",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "local-shell-script", "entry_point": "run.sh"}},
        "actions/a.yaml",
        "entry_point",
        "'actions/run.sh' does not exist",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "local-shell-script", "entry_point": "../pack.yaml"}},
        "actions/a.yaml",
        "entry_point",
        "must stay inside",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "python-script", "entry_point": "/etc/hostname"}},
        "actions/a.yaml",
        "entry_point",
        "must stay inside",
    ),
    (
        {},
        {
            "actions/a.yaml": {"runner_type": "python-script", "entry_point": "a.py:not-a-name"},
            "actions/a.py": "",
        },
        "actions/a.yaml",
        "entry_point",
        "not a Python name",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "entry_point": "a.py"}},
        "actions/a.yaml",
        "entry_point",
        "takes no entry_point",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "inquirer", "entry_point": "a.py"}},
        "actions/a.yaml",
        "entry_point",
        "takes no entry_point",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "timeout": 0}},
        "actions/a.yaml",
        "timeout",
        "",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "timeout": -5}},
        "actions/a.yaml",
        "timeout",
        "",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "timeout": "9"}},
        "actions/a.yaml",
        "timeout",
        "",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "timeout": True}},
        "actions/a.yaml",
        "timeout",
        "",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "timeout": 2.5}},
        "actions/a.yaml",
        "timeout",
        "",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "timeout": 2**31}},
        "actions/a.yaml",
        "timeout",
        "from 1 to 2147483647",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "enabled": "yes"}},
        "actions/a.yaml",
        "enabled",
        "",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "parameters": {"n": {"type": "int"}}}},
        "actions/a.yaml",
        "parameters.n.type",
        "must be one of",
    ),
    (
        {},
        {
            "actions/a.yaml": {
                "runner_type": "noop",
                "parameters": {"n": {"type": "integer", "default": "x"}},
            }
        },
        "actions/a.yaml",
        "parameters.n.default",
        "does not fit",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "parameters": ["n"]}},
        "actions/a.yaml",
        "parameters",
        "must be a map",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop", "output_schema": {"type": 3}}},
        "actions/a.yaml",
        "output_schema.type",
        "not a valid JSON Schema",
    ),
    (
        {"config_schema": {"$ref": "#/$defs/missing"}},
        {},
        "pack.yaml",
        "config_schema",
        "'#/$defs/missing' does not resolve",
    ),
    ({}, {"triggers/t.yaml": {"type": "timer"}}, "triggers/t.yaml", "type", "'timer'"),
    (
        {},
        {"triggers/t.yaml": {"payload_schema": {"items": {"$ref": "https://x.test/s.json"}}}},
        "triggers/t.yaml",
        "payload_schema",
        "does not resolve",
    ),
    (
        {},
        {"triggers/t.yaml": {"payload_schema": {"type": "objet"}}},
        "triggers/t.yaml",
        "payload_schema.type",
        "not a valid JSON Schema",
    ),
    (
        {},
        {"triggers/t.yaml": {"payload_schema": "object"}},
        "triggers/t.yaml",
        "payload_schema",
        "",
    ),
    ({}, {"rules/r.yaml": RULE | {"trigger": None}}, "rules/r.yaml", "trigger", "is required"),
    ({}, {"rules/r.yaml": RULE | {"trigger": "hook"}}, "rules/r.yaml", "trigger", "pack.name"),
    ({}, {"rules/r.yaml": RULE | {"action": None}}, "rules/r.yaml", "action", "is required"),
    ({}, {"rules/r.yaml": RULE | {"action": "x.y"}}, "rules/r.yaml", "action", "mapping"),
    ({}, {"rules/r.yaml": RULE | {"action": {}}}, "rules/r.yaml", "action.ref", "is required"),
    (
        {},
        {"rules/r.yaml": RULE | {"action": {"ref": "a.b", "params": {}}}},
        "rules/r.yaml",
        "action.params",
        "unknown field",
    ),
    (
        {},
        {"rules/r.yaml": RULE | {"criteria": {"trigger.x": {"type": "like", "pattern": 1}}}},
        "rules/r.yaml",
        "criteria.trigger.x",
        "unknown type 'like'",
    ),
    (
        {},
        {"rules/r.yaml": RULE | {"criteria": {"payload.x": {"type": "exists"}}}},
        "rules/r.yaml",
        "criteria.payload.x",
        "start at `trigger.`",
    ),
    (
        {},
        {
            "rules/r.yaml": RULE
            | {"criteria": {"trigger.x": {"type": "matchregex", "pattern": "("}}}
        },
        "rules/r.yaml",
        "criteria.trigger.x",
        "bad regular expression",
    ),
    (
        {},
        {"rules/r.yaml": RULE | {"criteria": ["trigger.x"]}},
        "rules/r.yaml",
        "criteria",
        "mapping",
    ),
    (
        {},
        {"rules/r.yaml": RULE | {"action": {"ref": "a.b", "parameters": {"m": "{{ trigger.x "}}}},
        "rules/r.yaml",
        "action.parameters.m",
        "template does not parse",
    ),
    (
        {},
        {
            "rules/r.yaml": RULE
            | {"action": {"ref": "a.b", "parameters": {"o": {"l": ["ok", "{% if %}"]}}}}
        },
        "rules/r.yaml",
        "action.parameters.o.l[1]",
        "template does not parse",
    ),
    ({}, {"rules/r.yaml": RULE | {"enabled": 1}}, "rules/r.yaml", "enabled", "true or false"),
    ({}, {"actions/a.yaml": "runner_type: [noop\n"}, "actions/a.yaml", None, "line 2"),
    (
        {},
        {"actions/a.yaml": "runner_type: noop\nrunner_type: noop\n"},
        "actions/a.yaml",
        None,
        "line 2",
    ),
    ({}, {"actions/a.yaml": "- runner_type: noop\n"}, "actions/a.yaml", None, "YAML mapping"),
    ({}, {"actions/a.yaml": ""}, "actions/a.yaml", None, "YAML mapping"),
    ({}, {"actions": "a file, not a folder"}, "actions", None, "must be a folder"),
    (
        {},
        {"actions/a.yaml": {"runner_type": "noop"}, "actions/a.yml": {"runner_type": "noop"}},
        "actions/a.yml",
        "name",
        "also defined by actions/a.yaml",
    ),
]


@pytest.mark.parametrize(
    ("pack", "files", "file", "field", "fragment"),
    BROKEN,
    ids=[f"{case[2]}:{case[3]}:{index}" for index, case in enumerate(BROKEN)],
)
def test_broken_pack_names_file_and_field(
    tmp_path: Path,
    pack: dict[str, Any],
    files: dict[str, Any],
    file: str,
    field: str | None,
    fragment: str,
) -> None:
    problem = only_problem(write_pack(tmp_path / "p", files, **pack))
    assert (problem.file, problem.field) == (file, field)
    assert fragment in problem.message


def test_pack_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_file(folder, "pack.yaml", "ref: p\nlabel: Broken: here\nversion: 1.0.0\n")
    problem = only_problem(folder)
    assert (problem.file, problem.field) == ("pack.yaml", None)
    assert "line 2, column 14" in problem.message  # the second colon


def test_entry_point_symlink_out_of_the_pack_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("def run():\n    pass\n")
    folder = write_pack(
        tmp_path / "p",
        {"actions/a.yaml": {"runner_type": "python-script", "entry_point": "link.py"}},
    )
    (folder / "actions" / "link.py").symlink_to(outside)
    problem = only_problem(folder)
    assert (problem.file, problem.field) == ("actions/a.yaml", "entry_point")
    assert "must stay inside" in problem.message


def test_entry_point_in_a_sub_folder(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "p",
        {
            "actions/a.yaml": {"runner_type": "local-shell-script", "entry_point": "bin/a.sh"},
            "actions/bin/a.sh": "echo a\n",
        },
    )
    assert load_pack(folder).actions[0].entry_point == "bin/a.sh"


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "p",
        {
            "actions/a.yaml": {"runner_type": "ssh", "timeout": 0},
            "actions/b.yaml": "runner_type: [\n",
            "actions/good.yaml": {"runner_type": "noop"},
            "triggers/t.yaml": {"type": "timer"},
            "rules/r.yaml": {"trigger": "nope", "action": {"parameters": {"m": "{{"}}},
        },
        version="one",
    )
    with pytest.raises(PackError) as caught:
        load_pack(folder)
    named = [(problem.file, problem.field) for problem in caught.value.problems]
    assert named == [
        ("pack.yaml", "version"),
        ("actions/a.yaml", "runner_type"),
        ("actions/a.yaml", "timeout"),
        ("actions/b.yaml", None),
        ("triggers/t.yaml", "type"),
        ("rules/r.yaml", "trigger"),
        ("rules/r.yaml", "action.ref"),
        ("rules/r.yaml", "action.parameters.m"),
    ]
    error = caught.value
    assert error.message.startswith("pack refused, 8 problems:")
    assert "\n  actions/a.yaml: runner_type: unknown 'ssh'" in error.message
    assert "\n  actions/b.yaml: invalid YAML: line 2" in error.message
    assert error.details["problems"][0] == {
        "file": "pack.yaml",
        "field": "version",
        "message": "'one' is not a semantic version (1.2.3)",
    }
    assert len(error.details["problems"]) == 8


def test_problems_in_every_file_of_a_bad_pack_yaml_still_reported(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_file(folder, "pack.yaml", "[not, a, mapping]\n")
    write_file(folder, "actions/a.yaml", {"runner_type": "ssh"})
    named = [(problem.file, problem.field) for problem in problems_of(folder)]
    assert named == [("pack.yaml", None), ("actions/a.yaml", "runner_type")]
