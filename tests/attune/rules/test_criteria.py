"""Each criteria operator, on a hit, a miss, a missing field and a mismatched type."""

from __future__ import annotations

from typing import Any

import pytest

from attune import errors
from attune.rules.criteria import matches, validate_criteria

PAYLOAD: dict[str, Any] = {
    "body": {
        "status": "Failed",
        "code": 503,
        "ratio": 0.25,
        "message": "disk /var is full\nsecond line",
        "hosts": ["web-1", "db-1"],
        "labels": {"team": "ops"},
        "empty": None,
    },
    "items": [{"name": "first"}, {"name": "second"}],
}


def holds(path: str, operator: str, pattern: Any = None) -> bool:
    condition: dict[str, Any] = {"type": operator}
    if pattern is not None or operator not in {"exists", "nexists"}:
        condition["pattern"] = pattern
    criteria = {path: condition}
    validate_criteria(criteria)
    return matches(criteria, PAYLOAD)


@pytest.mark.parametrize(
    ("path", "operator", "pattern", "expected"),
    [
        ("trigger.body.status", "equals", "Failed", True),
        ("trigger.body.status", "equals", "failed", False),
        ("trigger.body.code", "equals", 503, True),
        ("trigger.body.code", "equals", "503", False),
        ("trigger.body.status", "nequals", "ok", True),
        ("trigger.body.status", "nequals", "Failed", False),
        ("trigger.body.status", "iequals", "FAILED", True),
        ("trigger.body.status", "iequals", "ok", False),
        ("trigger.body.code", "lessthan", 600, True),
        ("trigger.body.code", "lessthan", 503, False),
        ("trigger.body.ratio", "lessthan", 0.5, True),
        ("trigger.body.code", "greaterthan", 500, True),
        ("trigger.body.code", "greaterthan", 503, False),
        ("trigger.body.status", "greaterthan", 1, False),  # mismatched types: no match
        ("trigger.body.message", "matchregex", r"disk \S+ is full", True),
        ("trigger.body.message", "matchregex", r"full.second", True),  # DOTALL
        ("trigger.body.message", "matchregex", r"^second", False),
        ("trigger.body.code", "matchregex", r"50\d", False),  # only strings match
        ("trigger.body.message", "contains", "/var", True),
        ("trigger.body.hosts", "contains", "db-1", True),
        ("trigger.body.labels", "contains", "team", True),
        ("trigger.body.message", "contains", "/tmp", False),
        ("trigger.body.hosts", "ncontains", "cache-1", True),
        ("trigger.body.hosts", "ncontains", "web-1", False),
        ("trigger.body.message", "icontains", "DISK", True),
        ("trigger.body.message", "icontains", "memory", False),
        ("trigger.body.message", "startswith", "disk", True),
        ("trigger.body.message", "startswith", "line", False),
        ("trigger.body.message", "endswith", "line", True),
        ("trigger.body.message", "endswith", "disk", False),
        ("trigger.body.status", "in", ["Failed", "Error"], True),
        ("trigger.body.status", "in", ["ok"], False),
        ("trigger.body.status", "nin", ["ok"], True),
        ("trigger.body.status", "nin", ["Failed"], False),
        ("trigger.items.1.name", "equals", "second", True),
        ("trigger.items.5.name", "equals", "second", False),
    ],
)
def test_operator(path: str, operator: str, pattern: Any, expected: bool) -> None:
    assert holds(path, operator, pattern) is expected


@pytest.mark.parametrize(
    ("path", "operator", "expected"),
    [
        ("trigger.body.status", "exists", True),
        ("trigger.body.empty", "exists", True),  # present with a null value
        ("trigger.body.nothing", "exists", False),
        ("trigger.body.nothing", "nexists", True),
        ("trigger.body.status", "nexists", False),
    ],
)
def test_presence(path: str, operator: str, expected: bool) -> None:
    assert holds(path, operator) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        *[(positive, False) for positive in ("equals", "iequals", "contains", "lessthan", "in")],
        # The negatives are exact negations: "status is not failed" holds with no status.
        *[(negative, True) for negative in ("nequals", "ncontains", "nin")],
    ],
)
def test_a_missing_field(operator: str, expected: bool) -> None:
    pattern: Any = ["x"] if operator in {"in", "nin"} else "x"
    assert holds("trigger.body.nothing", operator, pattern) is expected


def test_every_condition_must_hold() -> None:
    both: dict[str, dict[str, Any]] = {
        "trigger.body.status": {"type": "iequals", "pattern": "failed"},
        "trigger.body.code": {"type": "greaterthan", "pattern": 500},
    }
    assert matches(both, PAYLOAD) is True
    both["trigger.body.code"]["pattern"] = 600
    assert matches(both, PAYLOAD) is False
    assert matches({}, PAYLOAD) is True


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"body.status": {"type": "equals", "pattern": 1}}, "start at `trigger.`"),
        ({"trigger.x": {"type": "resembles", "pattern": 1}}, "unknown type 'resembles'"),
        ({"trigger.x": {"type": "equals"}}, "needs a `pattern`"),
        ({"trigger.x": {"type": "in", "pattern": "abc"}}, "needs a list pattern"),
        ({"trigger.x": {"type": "matchregex", "pattern": "(unclosed"}}, "bad regular expression"),
        ({"trigger.x": "equals"}, "must be an object with a `type`"),
    ],
)
def test_bad_criteria_are_refused_naming_the_field(criteria: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.ValidationError, match=message) as raised:
        validate_criteria(criteria)
    assert next(iter(criteria)) in raised.value.message
