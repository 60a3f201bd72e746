"""Rule criteria in StackStorm's form: every `{"trigger.a.b": {"type": op, "pattern": p}}` holds.

Comparisons between mismatched types are false, never errors: a payload that lacks a
field or has a surprising shape must not break ingestion, it simply does not match.
The negative operators are exact negations, so `nequals` holds for a missing field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from attune import errors

PAYLOAD_ROOT = "trigger"
_MISSING = object()


def _ordered(value: Any, pattern: Any, compare: Callable[[Any, Any], bool]) -> bool:
    numbers = (int, float)
    if isinstance(value, bool) or isinstance(pattern, bool):
        return False
    if isinstance(value, numbers) and isinstance(pattern, numbers):
        return compare(value, pattern)
    if isinstance(value, str) and isinstance(pattern, str):
        return compare(value, pattern)
    return False


def _contains(value: Any, pattern: Any) -> bool:
    if isinstance(value, str):
        return isinstance(pattern, str) and pattern in value
    if isinstance(value, list | tuple):
        return pattern in value
    if isinstance(value, Mapping):
        return pattern in value
    return False


def _icontains(value: Any, pattern: Any) -> bool:
    return isinstance(value, str) and isinstance(pattern, str) and pattern.lower() in value.lower()


def _iequals(value: Any, pattern: Any) -> bool:
    if isinstance(value, str) and isinstance(pattern, str):
        return value.lower() == pattern.lower()
    return bool(value == pattern)


def _matchregex(value: Any, pattern: Any) -> bool:
    return isinstance(value, str) and _regex(str(pattern)).search(value) is not None


def _member(value: Any, pattern: Any) -> bool:
    return isinstance(pattern, list | tuple) and value in pattern


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


# Each operator gets the field's value; a missing field makes every one of them false.
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda value, pattern: bool(value == pattern),
    "iequals": _iequals,
    "lessthan": lambda value, pattern: _ordered(value, pattern, lambda a, b: a < b),
    "greaterthan": lambda value, pattern: _ordered(value, pattern, lambda a, b: a > b),
    "matchregex": _matchregex,
    "contains": _contains,
    "icontains": _icontains,
    "startswith": lambda value, pattern: (
        isinstance(value, str) and isinstance(pattern, str) and value.startswith(pattern)
    ),
    "endswith": lambda value, pattern: (
        isinstance(value, str) and isinstance(pattern, str) and value.endswith(pattern)
    ),
    "in": _member,
}
NEGATIONS = {"nequals": "equals", "ncontains": "contains", "nin": "in"}
PRESENCE_OPERATORS = frozenset({"exists", "nexists"})
PATTERN_OPERATORS = frozenset({*OPERATORS, *NEGATIONS})


def validate_criteria(criteria: Mapping[str, Any]) -> None:
    """Refuse criteria that could never evaluate, naming the field and the problem."""
    if not isinstance(criteria, Mapping):
        raise errors.ValidationError("criteria must be an object of field: {type, pattern}")
    for path, condition in criteria.items():
        where = f"criteria[{path!r}]"
        if path != PAYLOAD_ROOT and not path.startswith(f"{PAYLOAD_ROOT}."):
            raise errors.ValidationError(f"{where}: field paths start at `trigger.`")
        if not isinstance(condition, Mapping) or "type" not in condition:
            raise errors.ValidationError(f"{where}: must be an object with a `type`")
        operator = condition["type"]
        if operator not in PATTERN_OPERATORS and operator not in PRESENCE_OPERATORS:
            known = ", ".join(sorted([*PATTERN_OPERATORS, *PRESENCE_OPERATORS]))
            raise errors.ValidationError(f"{where}: unknown type {operator!r} (one of {known})")
        if operator in PATTERN_OPERATORS and "pattern" not in condition:
            raise errors.ValidationError(f"{where}: type {operator!r} needs a `pattern`")
        if operator in {"in", "nin"} and not isinstance(condition["pattern"], list):
            raise errors.ValidationError(f"{where}: type {operator!r} needs a list pattern")
        if operator == "matchregex":
            try:
                _regex(str(condition["pattern"]))
            except re.error as error:
                raise errors.ValidationError(f"{where}: bad regular expression: {error}") from None


def lookup(payload: Any, path: str) -> Any:
    """The value at `trigger.a.b` (list items by index: `trigger.items.0`), or _MISSING."""
    value = payload
    for part in path.split(".")[1:]:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def matches(criteria: Mapping[str, Any], payload: Any) -> bool:
    """True when every condition holds for the payload; empty criteria match everything."""
    return all(
        _holds(condition["type"], lookup(payload, path), condition.get("pattern"))
        for path, condition in criteria.items()
    )


def _holds(operator: str, value: Any, pattern: Any) -> bool:
    if operator in PRESENCE_OPERATORS:
        return (value is not _MISSING) == (operator == "exists")
    if operator in NEGATIONS:
        return not _holds(NEGATIONS[operator], value, pattern)
    return value is not _MISSING and OPERATORS[operator](value, pattern)
