"""Packs written to attack the server: links out, secrets echoed back, bombs, floods.

Each is refused with a short problem naming the file, never with the file's content, and
never with an exception instead of a problem.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from attune import errors
from attune.excerpts import EXCERPT_CHARS
from attune.packs import yaml_files
from attune.packs.loader import load_pack
from attune.packs.problems import (
    MAX_LISTED_PROBLEMS,
    MAX_MESSAGE_CHARS,
    PackError,
    Problem,
)
from attune.packs.yaml_files import MAX_DEPTH, MAX_NODES, MAX_PACK_FILE_BYTES
from tests.attune.packs.packdir import only_problem, problems_of, write_file, write_pack

SECRET_LINES = [
    "root:$6$Zq8sAlT$hAsHoFtHeRoOtPaSsWoRd0123456789:19000:0:99999:7:::",
    "deploy:$6$pEpPeR$aNoThErHaShThAtMuStNeVeRlEaK9876543210:19000:0:99999:7:::",
    "api_token: sk-live-0123456789abcdefSECRET",
]
OUTSIDE = "is a symbolic link leading outside the pack; refused"
ACTION = {"runner_type": "noop"}


def secrets_file(tmp_path: Path) -> Path:
    """A file outside any pack, of lines that would each read as an unknown YAML field."""
    target = tmp_path / "shadow"
    target.write_text("".join(f"{line}\n" for line in SECRET_LINES), encoding="utf-8")
    return target


def refusal(folder: Path) -> PackError:
    with pytest.raises(PackError) as caught:
        load_pack(folder)
    return caught.value


def assert_no_secret(error: PackError) -> None:
    shown = error.message + json.dumps(error.details)
    for line in SECRET_LINES:
        for fragment in (line, line[:12], "$6$", "sk-live"):
            assert fragment not in shown


# Links leading out of the pack


def test_pack_yaml_linked_to_a_secret_file_is_refused_unread(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pack.yaml").symlink_to(secrets_file(tmp_path))

    error = refusal(folder)

    assert isinstance(error, errors.ValidationError)  # a 422 through api.errors
    assert error.code == "validation_error"
    assert [(p.file, p.field, p.message) for p in error.problems] == [("pack.yaml", None, OUTSIDE)]
    assert_no_secret(error)


@pytest.mark.parametrize("kind", ["actions", "triggers", "rules", "policies"])
def test_a_component_linked_to_a_secret_file_is_refused_unread(tmp_path: Path, kind: str) -> None:
    folder = write_pack(tmp_path / "p", {f"{kind}/fine.yaml": {"name": "fine"}})
    (folder / kind / "x.yaml").symlink_to(secrets_file(tmp_path))

    error = refusal(folder)

    assert (f"{kind}/x.yaml", None, OUTSIDE) in [
        (p.file, p.field, p.message) for p in error.problems
    ]
    assert_no_secret(error)


def test_a_link_out_is_refused_alike_whether_its_target_exists_or_not(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "p")
    (folder / "actions").mkdir()
    (folder / "actions" / "there.yaml").symlink_to(secrets_file(tmp_path))
    (folder / "actions" / "nowhere.yml").symlink_to(tmp_path / "does-not-exist")

    named = [(problem.file, problem.message) for problem in problems_of(folder)]

    assert named == [("actions/nowhere.yml", OUTSIDE), ("actions/there.yaml", OUTSIDE)]


def test_a_pack_yaml_linked_to_nowhere_outside_is_refused_not_missing(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pack.yaml").symlink_to(tmp_path / "does-not-exist")
    problem = only_problem(folder)
    assert (problem.file, problem.message) == ("pack.yaml", OUTSIDE)


def test_a_component_folder_linked_outside_is_refused_and_not_listed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_file(elsewhere, "private-name.yaml", ACTION)
    folder = write_pack(tmp_path / "p")
    (folder / "actions").symlink_to(elsewhere)

    error = refusal(folder)

    assert [(p.file, p.message) for p in error.problems] == [("actions", OUTSIDE)]
    assert "private-name" not in error.message


def test_links_that_stay_inside_the_pack_are_followed(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "p", {"lib/noop.yaml": ACTION, "shared/hook.yaml": {"type": "webhook"}}
    )
    (folder / "actions").mkdir()
    (folder / "actions" / "quiet.yaml").symlink_to(Path("..") / "lib" / "noop.yaml")
    (folder / "triggers").symlink_to("shared")

    pack = load_pack(folder)

    assert [action.name for action in pack.actions] == ["quiet"]
    assert [trigger.name for trigger in pack.triggers] == ["hook"]


def test_a_link_inside_to_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "p")
    os.mkfifo(folder / "pipe")
    (folder / "actions").mkdir()
    (folder / "actions" / "a.yaml").symlink_to(folder / "pipe")
    problem = only_problem(folder)
    assert (problem.file, problem.message) == ("actions/a.yaml", "is not a regular file; not read")


def test_links_in_a_loop_are_a_problem_not_an_exception(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "p", {"actions/a.yaml": {"runner_type": "python-script", "entry_point": "x.py"}}
    )
    (folder / "actions" / "x.py").symlink_to("x.py")
    (folder / "actions" / "b.yaml").symlink_to("b.yaml")
    (folder / "rules").symlink_to("rules")

    named = [(problem.file, problem.field, problem.message) for problem in problems_of(folder)]

    assert named == [
        ("actions/a.yaml", "entry_point", "'x.py' cannot be a file in the pack"),
        ("actions/b.yaml", None, "is a loop of symbolic links; refused"),
        ("rules", None, "is a loop of symbolic links; refused"),
    ]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        # Text PostgreSQL cannot store is refused as soon as the file is read.
        ("a\x00b", "contains a NUL character"),
        ("x" * 5000, "cannot be a file in the pack"),
    ],
)
def test_an_impossible_entry_point_or_folder_is_a_problem(
    tmp_path: Path, name: str, says: str
) -> None:
    action = {"runner_type": "local-shell-script", "entry_point": name}
    problem = only_problem(write_pack(tmp_path / "p", {"actions/a.yaml": action}))
    assert problem.field == "entry_point"
    assert says in problem.message
    assert only_problem(tmp_path / name).message == "is not a folder"


# Values echoed back


def test_unknown_fields_are_named_by_an_excerpt_never_whole(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    text = "ref: p\nlabel: P\nversion: 1.0.0\n" + "".join(f"{line}\n" for line in SECRET_LINES)
    write_file(folder, "pack.yaml", text)

    problems = problems_of(folder)

    assert len(problems) == len(SECRET_LINES)
    for problem, line in zip(problems, SECRET_LINES, strict=True):
        assert problem.field is not None
        assert len(problem.field) <= EXCERPT_CHARS
        assert problem.message.startswith("unknown field (allowed:")
        assert line.partition(":")[2].strip() not in str(problem)


LONG = "x" * 5000 + "\n\x1b[31m" + "y" * 5000
# (pack.yaml overrides, files, the field named)
LONG_VALUES: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"ref": LONG}, {}, "ref"),
    ({"version": LONG}, {}, "version"),
    (
        {"config_schema": {"properties": {"n": {"type": "integer"}}}, "config": {"n": LONG}},
        {},
        "config.n",
    ),
    ({"config_schema": {"$ref": LONG}}, {}, "config_schema"),
    ({}, {"actions/a.yaml": {"runner_type": LONG}}, "runner_type"),
    ({}, {"actions/a.yaml": {"runner_type": "noop", "timeout": LONG}}, "timeout"),
    ({}, {"actions/a.yaml": {"runner_type": "noop", "name": LONG}}, "name"),
    ({}, {"actions/a.yaml": {"runner_type": "noop", LONG: 1}}, "unknown"),
    (
        {},
        {"actions/a.yaml": {"runner_type": "python-script", "entry_point": f"a.py:{LONG}"}},
        "entry_point",
    ),
    (
        {},
        {"actions/a.yaml": {"runner_type": "local-shell-script", "entry_point": LONG}},
        "entry_point",
    ),
    ({}, {"actions/a.yaml": {"runner_type": "noop", "enabled": LONG}}, "enabled"),
    ({}, {"triggers/t.yaml": {"type": LONG}}, "type"),
    ({}, {"triggers/t.yaml": {"payload_schema": {"type": LONG}}}, "payload_schema.type"),
    (
        {},
        {"rules/r.yaml": {"trigger": "a.b", "action": {"ref": "a.b"}, "criteria": {LONG: {}}}},
        "criteria",
    ),
    (
        {},
        {
            "rules/r.yaml": {
                "trigger": "a.b",
                "action": {"ref": "a.b"},
                "criteria": {"trigger.x": {"type": LONG, "pattern": 1}},
            }
        },
        "criteria.trigger.x",
    ),
    ({}, {"rules/r.yaml": {"trigger": LONG, "action": {"ref": "a.b"}}}, "trigger"),
    ({}, {"policies/p.yaml": {"action": LONG, "concurrency": {"limit": 1}}}, "action"),
    ({}, {"policies/p.yaml": {"action": "a.b", "concurrency": {"limit": LONG}}}, "concurrency"),
]


@pytest.mark.parametrize(
    ("pack", "files", "field"), LONG_VALUES, ids=[case[2] for case in LONG_VALUES]
)
def test_a_long_bad_value_gets_a_short_escaped_message(
    tmp_path: Path, pack: dict[str, Any], files: dict[str, Any], field: str
) -> None:
    error = refusal(write_pack(tmp_path / "p", files, **pack))

    assert len(error.message) < 1000
    for problem in error.problems:
        assert len(problem.message) <= MAX_MESSAGE_CHARS
        assert "x" * 100 not in str(problem)
        assert "\x1b" not in str(problem)
        assert "\n" not in str(problem)


def test_a_schema_message_quoting_many_keys_is_cut_to_the_limit(tmp_path: Path) -> None:
    schema = {"type": "object", "additionalProperties": False}
    config = {f"{LONG[:200]}{index}": index for index in range(100)}
    problems = problems_of(write_pack(tmp_path / "p", config_schema=schema, config=config))
    assert [problem.field for problem in problems] == ["config"]
    assert "are not allowed" in problems[0].message
    assert len(problems[0].message) <= MAX_MESSAGE_CHARS


def test_a_long_value_is_quoted_as_an_excerpt(tmp_path: Path) -> None:
    problem = only_problem(write_pack(tmp_path / "p", version=LONG))
    assert problem.field == "version"
    assert problem.message.startswith("'xxxx")
    assert "…' is not" not in problem.message
    assert problem.message.endswith("… is not a semantic version (1.2.3)")


def test_a_criteria_type_that_is_not_a_string_is_a_problem(tmp_path: Path) -> None:
    rule = {"trigger": "a.b", "action": {"ref": "a.b"}, "criteria": {"trigger.x": {"type": [1]}}}
    problem = only_problem(write_pack(tmp_path / "p", {"rules/r.yaml": rule}))
    assert (problem.field, problem.message) == (
        "criteria.trigger.x",
        "the type must be a string naming an operator",
    )


def test_a_yaml_syntax_error_quotes_nothing_of_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_file(folder, "pack.yaml", f"ref: p\nlabel: {SECRET_LINES[2]}: [\n")
    problem = only_problem(folder)
    assert problem.message.startswith("invalid YAML: line 2, column")
    assert "sk-live" not in problem.message
    assert "label" not in problem.message


def test_a_long_tag_in_a_yaml_error_is_cut(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_file(folder, "pack.yaml", f"ref: !{'t' * 5000} p\n")
    problem = only_problem(folder)
    assert "could not determine a constructor" in problem.message
    assert len(problem.message) < 200


def test_a_file_that_is_not_utf8_names_the_byte_not_the_text(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "pack.yaml").write_bytes(b"ref: p\nlabel: \xff secret\n")
    problem = only_problem(folder)
    assert problem.message == "is not UTF-8 text (invalid start byte at byte 14)"


# Bounded YAML


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "p")
    size = MAX_PACK_FILE_BYTES + 1
    write_file(folder, "actions/big.yaml", "#" * size)
    problem = only_problem(folder)
    assert (problem.file, problem.message) == (
        "actions/big.yaml",
        f"is {size} bytes, more than the limit of {MAX_PACK_FILE_BYTES} bytes; not read",
    )


def test_a_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "p")
    text = "runner_type: noop\n"
    write_file(folder, "actions/a.yaml", text + "#" * (MAX_PACK_FILE_BYTES - len(text)))
    assert load_pack(folder).actions[0].name == "a"


def nested(levels: int) -> str:
    return "value: " + "[" * levels + "]" * levels + "\n"


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    # The file's own mapping is the first level.
    folder = write_pack(tmp_path / "p", {"actions/a.yaml": f"runner_type: noop\n{nested(63)}"})
    problem = only_problem(folder)
    assert (problem.field, problem.message[:13]) == ("value", "unknown field")


@pytest.mark.parametrize("levels", [MAX_DEPTH, 1000, 100_000])
def test_deep_nesting_is_a_problem_never_an_exception(tmp_path: Path, levels: int) -> None:
    folder = write_pack(tmp_path / "p", {"actions/a.yaml": f"runner_type: noop\n{nested(levels)}"})
    problem = only_problem(folder)
    assert (problem.file, problem.field) == ("actions/a.yaml", None)
    assert problem.message == f"line 2, column 71: nested deeper than {MAX_DEPTH} levels; refused"


def test_block_style_nesting_is_bounded_too(tmp_path: Path) -> None:
    text = "".join(f"{'  ' * level}k{level}:\n" for level in range(1000)) + "  " * 1000 + "v\n"
    folder = write_pack(tmp_path / "p", {"actions/a.yaml": text})
    problem = only_problem(folder)
    assert problem.message == f"line 65, column 129: nested deeper than {MAX_DEPTH} levels; refused"


def test_a_recursion_error_from_the_composer_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yaml_files, "MAX_DEPTH", 1_000_000)  # as if no limit were checked
    folder = write_pack(tmp_path / "p", {"actions/a.yaml": nested(100_000)})
    problem = only_problem(folder)
    assert problem.file == "actions/a.yaml"
    assert problem.message.endswith("levels; refused")


# Nine anchors, each a list of nine aliases to the one before: 9**9 (387 million) values.
BOMB = "".join(
    f"    {name}: &{name} [{', '.join([f'*{previous}' if previous else 'lol'] * 9)}]\n"
    for previous, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    # Rule parameters are walked for templates: expanded, the bomb would take hours.
    rule = f"trigger: a.b\naction:\n  ref: a.b\n  parameters:\n{BOMB}"
    folder = write_pack(tmp_path / "p", {"rules/r.yaml": rule})
    started = time.perf_counter()
    problem = only_problem(folder)
    assert time.perf_counter() - started < 0.5
    assert problem.file == "rules/r.yaml"
    assert problem.message.endswith(
        f"holds more than {MAX_NODES} values (an alias counts each time it is used); refused"
    )


def test_aliases_expanding_too_deep_are_refused(tmp_path: Path) -> None:
    # Each anchor is only 40 levels deep; nested in one another they are 160.
    deep = "[" * 40 + "]" * 40
    text = f"a: &a {deep}\nb: &b {deep[:-40]}*a{deep[-40:]}\nc: &c {deep[:-40]}*b{deep[-40:]}\n"
    text += f"d: {deep[:-40]}*c{deep[-40:]}\n"
    folder = write_pack(tmp_path / "p", {"actions/a.yaml": text})
    problem = only_problem(folder)
    assert f"nested deeper than {MAX_DEPTH} levels once its aliases are expanded" in problem.message


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "p", {"actions/a.yaml": "runner_type: noop\nx: &x [*x]\n"})
    problem = only_problem(folder)
    assert "an alias inside the node it names" in problem.message


def test_ordinary_anchors_and_merge_keys_keep_working(tmp_path: Path) -> None:
    text = (
        "runner_type: python-script\n"
        "entry_point: a.py\n"
        "parameters:\n"
        "  first: &text {type: string, description: Some text}\n"
        "  second: *text\n"
        "  third:\n"
        "    <<: *text\n"
        "    description: Other text\n"
    )
    folder = write_pack(tmp_path / "p", {"actions/a.yaml": text, "actions/a.py": ""})
    properties = load_pack(folder).actions[0].parameters["properties"]
    assert properties["second"] == {"type": "string", "description": "Some text"}
    assert properties["third"] == {"type": "string", "description": "Other text"}


def test_a_key_repeated_in_a_mapping_is_still_refused_beside_a_merge(tmp_path: Path) -> None:
    text = "runner_type: noop\nd: &d {a: 1}\ne:\n  <<: *d\n  b: 1\n  b: 2\n"
    problem = only_problem(write_pack(tmp_path / "p", {"actions/a.yaml": text}))
    assert problem.message == "invalid YAML: line 6, column 3: duplicate key 'b'"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-13-45", "month must be in 1..12"),
        ("1" * 5000, "an integer with too many digits"),
        ("0x" + "f" * 5000, "an integer with too many digits"),
    ],
)
def test_a_value_python_cannot_hold_is_a_problem(tmp_path: Path, value: str, message: str) -> None:
    folder = write_pack(
        tmp_path / "p", {"actions/a.yaml": f"runner_type: noop\ntimeout: {value}\n"}
    )
    problem = only_problem(folder)
    assert problem.message == f"invalid YAML: line 2, column 10: {message}"


# A flood of problems


def test_at_most_fifty_problems_are_listed_then_how_many_more(tmp_path: Path) -> None:
    files = {f"actions/a{index:03}.yaml": {"runner_type": "teleport"} for index in range(120)}
    error = refusal(write_pack(tmp_path / "p", files))

    assert error.total == 120
    assert len(error.problems) == MAX_LISTED_PROBLEMS
    assert error.problems[0].file == "actions/a000.yaml"
    lines = error.message.splitlines()
    assert lines[0] == "pack refused, 120 problems:"
    assert len(lines) == 1 + MAX_LISTED_PROBLEMS + 1
    assert lines[-1] == "  … and 70 more problems not shown"
    listed = error.details["problems"]
    assert len(listed) == MAX_LISTED_PROBLEMS + 1
    assert listed[-1] == {"file": "", "field": None, "message": "… and 70 more problems not shown"}


def test_a_pack_error_made_from_many_problems_lists_fifty() -> None:
    error = PackError([Problem(f"f{index}", None, "bad") for index in range(51)])
    assert (error.total, len(error.problems)) == (51, 50)
    assert error.message.endswith("\n  … and 1 more problem not shown")


def test_a_problem_is_bounded_and_escaped_however_it_is_made() -> None:
    problem = Problem("a\nb" * 500, "f\x00" * 500, "m\x1b" * 500)
    assert len(problem.file) <= 200
    assert problem.field is not None
    assert len(problem.field) <= 200
    assert len(problem.message) <= MAX_MESSAGE_CHARS
    assert "\n" not in str(problem)
    assert "\x00" not in str(problem)
    assert "\x1b" not in str(problem)


# Values YAML has and JSON (so PostgreSQL's jsonb) has not


@pytest.mark.parametrize(
    ("value", "field", "says"),
    [
        ("2024-01-01", "parameters.when.default", "put it in quotes"),
        ("!!binary aGVsbG8=", "parameters.when.default", "binary"),
        ("!!set {a, b}", "parameters.when.default", "write a list"),
        (".nan", "parameters.when.default", "finite number"),
        ("-.inf", "parameters.when.default", "finite number"),
        ('"a\\0b"', "parameters.when.default", "NUL character"),
        ('"\\ud800"', "parameters.when.default", "lone surrogate"),
    ],
)
def test_a_value_json_cannot_hold_is_a_problem_naming_its_field(
    tmp_path: Path, value: str, field: str, says: str
) -> None:
    action = f"runner_type: noop\nparameters:\n  when:\n    default: {value}\n"
    folder = write_pack(tmp_path / "pack", {"actions/act.yaml": action})

    problem = only_problem(folder)

    assert (problem.file, problem.field) == ("actions/act.yaml", field)
    assert says in problem.message


def test_a_quoted_date_is_text_and_loads(tmp_path: Path) -> None:
    action = (
        'runner_type: noop\nparameters:\n  when:\n    type: string\n    default: "2024-01-01"\n'
    )
    folder = write_pack(tmp_path / "pack", {"actions/act.yaml": action})

    [loaded] = load_pack(folder).actions

    assert loaded.parameters["properties"]["when"]["default"] == "2024-01-01"
