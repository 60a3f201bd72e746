"""What a key may hold, checked before anything is stored, each refusal naming its field."""

from __future__ import annotations

import math
from typing import Any

import pytest

from attune import errors
from attune.json_limits import MAX_JSON_DEPTH
from attune.keys.bounds import MAX_VALUE_BYTES, check_description, check_ttl, check_value


@pytest.mark.parametrize(
    "value",
    ["", "s", 0, -1.5, 2**70, True, [], {}, {"a": [1, {"b": None}]}, "é☃🙂" * 100],
)
def test_any_json_but_null_is_a_value(value: Any) -> None:
    check_value(value)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        (None, "value", "must not be null"),
        ({"a": "x\x00"}, "value.a", "NUL"),
        (["\ud800"], "value[0]", "surrogate"),
        ({"n": math.inf}, "value", "NaN and Infinity"),
        (nested(MAX_JSON_DEPTH + 1), "value" + "[0]" * MAX_JSON_DEPTH, "deeper"),
        ("x" * MAX_VALUE_BYTES, "value", f"more than the {MAX_VALUE_BYTES}"),
        # Counted in UTF-8 bytes, not characters.
        ("é" * (MAX_VALUE_BYTES // 2), "value", "bytes of JSON"),
    ],
)
def test_a_value_a_key_cannot_hold_is_refused_naming_where(
    value: Any, field: str, words: str
) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        check_value(value)
    assert raised.value.details == {"field": field}
    assert words in raised.value.message


def test_the_largest_value_fits() -> None:
    check_value("x" * (MAX_VALUE_BYTES - 2))  # two bytes of quotes


@pytest.mark.parametrize(("description", "words"), [("a\x00", "NUL"), ("d" * 1025, "at most")])
def test_a_bad_description_is_refused(description: str, words: str) -> None:
    with pytest.raises(errors.ValidationError, match=words) as raised:
        check_description(description)
    assert raised.value.details == {"field": "description"}


@pytest.mark.parametrize("ttl", [0, -1, 10**10, True])
def test_a_bad_ttl_is_refused(ttl: int) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        check_ttl(ttl)
    assert raised.value.details == {"field": "ttl_seconds"}


def test_no_ttl_and_a_sane_one_pass() -> None:
    check_ttl(None)
    check_ttl(1)
