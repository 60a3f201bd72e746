"""Loading policy files: limits in full and by default, and each mistake named by file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from attune.packs.definitions import PolicyDefinition
from attune.packs.loader import load_pack
from tests.attune.packs.packdir import only_problem, problems_of, write_pack

NOOP: dict[str, Any] = {"runner_type": "noop"}
LIMITED: dict[str, Any] = {"action": "sample.work", "concurrency": {"limit": 2}}


def test_policies_load_with_every_field(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "sample",
        {
            "actions/work.yaml": NOOP,
            "policies/throttle.yaml": {
                "label": "Throttle",
                "description": "Two at once, five waiting, ten a second",
                "action": "sample.work",
                "concurrency": {"limit": 2, "max_queue_length": 5, "on_full": "reject"},
                "method": "cancel",
                "rate_limit": {"per_second": 10},
                "enabled": False,
            },
            "policies/alone.yml": {"action": "other.thing", "rate_limit": {"per_second": 0.5}},
        },
    )

    pack = load_pack(folder)

    assert pack.policies == (
        PolicyDefinition(
            file="policies/alone.yml",
            name="alone",
            action_ref="other.thing",
            concurrency_limit=None,
            max_queue_length=10000,
            on_full="reject",
            method="enqueue",
            rate_limit_per_second=0.5,
            enabled=True,
        ),
        PolicyDefinition(
            file="policies/throttle.yaml",
            name="throttle",
            action_ref="sample.work",
            concurrency_limit=2,
            max_queue_length=5,
            on_full="reject",
            method="cancel",
            rate_limit_per_second=10.0,
            enabled=False,
            label="Throttle",
            description="Two at once, five waiting, ten a second",
        ),
    )
    # Written `10`, stored as the double precision column holds it.
    assert isinstance(pack.policies[1].rate_limit_per_second, float)


def test_a_concurrency_limit_alone_takes_the_defaults(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path / "p", {"policies/two.yaml": LIMITED}))

    (two,) = pack.policies
    assert (two.concurrency_limit, two.max_queue_length, two.on_full, two.method) == (
        2,
        10000,
        "reject",
        "enqueue",
    )
    assert (two.rate_limit_per_second, two.enabled) == (None, True)


def test_a_pack_without_policies_has_none(tmp_path: Path) -> None:
    assert load_pack(write_pack(tmp_path / "p", {"actions/work.yaml": NOOP})).policies == ()


# (the policy file, the field named, a fragment of the message)
BROKEN: list[tuple[dict[str, Any], str | None, str]] = [
    ({"concurrency": {"limit": 2}}, "action", "is required"),
    (LIMITED | {"action": "work"}, "action", "is not an action ref like pack.name"),
    (LIMITED | {"action": 3}, "action", "must be a string"),
    ({"action": "sample.work"}, None, "set concurrency, rate_limit or both"),
    (LIMITED | {"concurrency": None}, None, "set concurrency, rate_limit or both"),
    (LIMITED | {"concurrency": {}}, "concurrency.limit", "Field required"),
    (LIMITED | {"concurrency": 3}, "concurrency", "valid dictionary"),
    (LIMITED | {"concurrency": {"limit": 0}}, "concurrency.limit", "greater than or equal to 1"),
    (LIMITED | {"concurrency": {"limit": -4}}, "concurrency.limit", "greater than or equal to 1"),
    (LIMITED | {"concurrency": {"limit": 1.5}}, "concurrency.limit", "valid integer"),
    (LIMITED | {"concurrency": {"limit": "3"}}, "concurrency.limit", "valid integer"),
    # YAML's `true` is not 1 slot.
    (LIMITED | {"concurrency": {"limit": True}}, "concurrency.limit", "valid integer"),
    (LIMITED | {"concurrency": {"limit": 2**31}}, "concurrency.limit", "less than or equal"),
    (
        LIMITED | {"concurrency": {"limit": 1, "max_queue_length": -1}},
        "concurrency.max_queue_length",
        "greater than or equal to 0",
    ),
    (
        LIMITED | {"concurrency": {"limit": 1, "on_full": "drop_oldest"}},
        "concurrency.on_full",
        "'reject'",
    ),
    (
        LIMITED | {"concurrency": {"limit": 1, "queue": 5}},
        "concurrency.queue",
        "Extra inputs are not permitted",
    ),
    (LIMITED | {"method": "drop"}, "method", "'enqueue' or 'cancel'"),
    (LIMITED | {"method": 1}, "method", "'enqueue' or 'cancel'"),
    (LIMITED | {"rate_limit": {"per_second": 0}}, "rate_limit.per_second", "equal to 0.001"),
    (LIMITED | {"rate_limit": {"per_second": -1.5}}, "rate_limit.per_second", "equal to 0.001"),
    # 1e-300 is 0 as the 32-bit float Temporal keeps: a run would never start.
    (LIMITED | {"rate_limit": {"per_second": 1e-300}}, "rate_limit.per_second", "equal to 0.001"),
    (LIMITED | {"rate_limit": {"per_second": 1e308}}, "rate_limit.per_second", "equal to 10000"),
    (
        LIMITED | {"rate_limit": {"per_second": float("inf")}},
        "rate_limit.per_second",
        "finite number",
    ),
    (
        LIMITED | {"rate_limit": {"per_second": float("nan")}},
        "rate_limit.per_second",
        "finite number",
    ),
    (LIMITED | {"rate_limit": {"per_second": "fast"}}, "rate_limit.per_second", "valid number"),
    (LIMITED | {"rate_limit": {}}, "rate_limit.per_second", "Field required"),
    (LIMITED | {"rate_limit": 5}, "rate_limit", "valid dictionary"),
    (LIMITED | {"enabled": "yes"}, "enabled", "true or false"),
    (LIMITED | {"label": 5}, "label", "must be a string"),
    (LIMITED | {"limit": 3}, "limit", "unknown field"),
    (LIMITED | {"name": "other"}, "name", "differs from the file name"),
]


@pytest.mark.parametrize(("content", "field", "fragment"), BROKEN)
def test_a_broken_policy_names_file_and_field(
    tmp_path: Path, content: dict[str, Any], field: str | None, fragment: str
) -> None:
    problem = only_problem(write_pack(tmp_path / "p", {"policies/alone.yaml": content}))

    assert (problem.file, problem.field) == ("policies/alone.yaml", field)
    assert fragment in problem.message
    # The whole line as the pack error lists it.
    where = f"policies/alone.yaml: {field}: " if field else "policies/alone.yaml: "
    assert str(problem).startswith(where)


def test_every_problem_of_every_policy_is_reported_at_once(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "p",
        {
            "policies/first.yaml": {
                "action": "nodot",
                "concurrency": {"limit": 0, "max_queue_length": -1},
                "method": "later",
                "rate_limit": {"per_second": 0},
            },
            "policies/second.yaml": LIMITED | {"enabled": 2},
            "policies/fine.yaml": LIMITED,
        },
    )

    problems = [(problem.file, problem.field) for problem in problems_of(folder)]

    assert problems == [
        ("policies/first.yaml", "action"),
        ("policies/first.yaml", "concurrency.limit"),
        ("policies/first.yaml", "concurrency.max_queue_length"),
        ("policies/first.yaml", "method"),
        ("policies/first.yaml", "rate_limit.per_second"),
        ("policies/second.yaml", "enabled"),
    ]


def test_the_same_policy_name_twice_is_refused(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "p", {"policies/two.yaml": LIMITED, "policies/two.yml": LIMITED})

    problem = only_problem(folder)

    assert (problem.file, problem.field) == ("policies/two.yml", "name")
    assert "also defined by policies/two.yaml" in problem.message


def test_policies_must_be_a_folder(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "p", {"policies": "not a folder\n"})

    problem = only_problem(folder)

    assert (problem.file, problem.field) == ("policies", None)
