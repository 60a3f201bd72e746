"""Parameter maps become JSON Schema; requested values are checked against it, by name."""

from __future__ import annotations

from typing import Any

import pytest

from attune import errors
from attune.packs.parameters import parameters_schema, secret_parameters, validate_parameters

HTTP_LIKE: dict[str, Any] = {
    "url": {"type": "string", "description": "Where to", "required": True},
    "method": {"type": "string", "default": "GET", "enum": ["GET", "POST"]},
    "headers": {"type": "object", "default": {}},
    "body": {"description": "Anything"},
    "count": {"type": "integer", "default": 1},
    "password": {"type": "string", "secret": True},
}


def test_schema_of_a_parameter_map() -> None:
    schema = parameters_schema(HTTP_LIKE, where="parameters")
    assert schema == {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "Where to"},
            "method": {"type": "string", "enum": ["GET", "POST"], "default": "GET"},
            "headers": {"type": "object", "default": {}},
            "body": {"description": "Anything"},
            "count": {"type": "integer", "default": 1},
            "password": {"type": "string", "secret": True},
        },
        "required": ["url"],
        "additionalProperties": False,
    }


def test_empty_map_accepts_only_no_parameters() -> None:
    schema = parameters_schema({}, where="parameters")
    assert validate_parameters(schema, {}) == {}
    with pytest.raises(errors.ValidationError, match="surprise"):
        validate_parameters(schema, {"surprise": 1})


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"count": {"type": "int"}}, "parameters.count.type"),
        ({"count": {"type": "null"}}, "parameters.count.type"),
        ({"count": {"kind": "integer"}}, "parameters.count.kind"),
        ({"count": {"type": "integer", "default": "three"}}, "parameters.count.default"),
        ({"count": {"type": "integer", "default": True}}, "parameters.count.default"),
        ({"m": {"type": "string", "enum": ["a"], "default": "b"}}, "parameters.m.default"),
        ({"m": {"type": "string", "enum": []}}, "parameters.m.enum"),
        ({"m": {"type": "string", "enum": "a"}}, "parameters.m.enum"),
        ({"m": {"type": "string", "enum": ["a", 2]}}, "parameters.m.enum[1]"),
        ({"m": {"required": "yes"}}, "parameters.m.required"),
        ({"m": {"secret": 1}}, "parameters.m.secret"),
        ({"m": {"description": 5}}, "parameters.m.description"),
        ({"m": "string"}, "parameters.m"),
        ({"bad-name": {}}, "parameters.bad-name"),
        ({"1st": {}}, "parameters.1st"),
        ({"class": {}}, "parameters.class"),
    ],
)
def test_bad_parameter_maps_name_the_field(parameters: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ValidationError) as caught:
        parameters_schema(parameters, where="parameters")
    assert [problem["field"] for problem in caught.value.details["problems"]] == [field]
    assert caught.value.details["field"] == field
    assert caught.value.message.startswith(f"{field}: ")


def test_not_a_map_is_refused() -> None:
    with pytest.raises(errors.ValidationError) as caught:
        parameters_schema(["a", "b"], where="spec.parameters")  # type: ignore[arg-type]
    assert caught.value.details["field"] == "spec.parameters"


def test_every_bad_parameter_is_reported() -> None:
    with pytest.raises(errors.ValidationError) as caught:
        parameters_schema(
            {"a": {"type": "int"}, "b": {"type": "string", "default": 1}, "c": {"x": 1}},
            where="parameters",
        )
    fields = [problem["field"] for problem in caught.value.details["problems"]]
    assert fields == ["parameters.a.type", "parameters.b.default", "parameters.c.x"]


def test_defaults_are_filled_and_copied() -> None:
    schema = parameters_schema(HTTP_LIKE, where="parameters")
    values = validate_parameters(schema, {"url": "https://example.com", "count": 5})
    assert values == {"url": "https://example.com", "count": 5, "method": "GET", "headers": {}}
    values["headers"]["x"] = "y"  # the schema's default must not change with it
    assert schema["properties"]["headers"]["default"] == {}
    assert validate_parameters(schema, {"url": "u"})["headers"] == {}


def test_given_values_are_kept_and_any_type_is_any() -> None:
    schema = parameters_schema(HTTP_LIKE, where="parameters")
    for body in ({"a": [1]}, "text", 3, None):
        assert validate_parameters(schema, {"url": "u", "body": body})["body"] == body


@pytest.mark.parametrize(
    ("values", "field", "fragment"),
    [
        ({}, "url", "is required"),
        ({"url": "u", "colour": "red"}, "colour", "is not a parameter"),
        ({"url": 5}, "url", "is not of type 'string'"),
        ({"url": "u", "method": "BREW"}, "method", "is not one of"),
        ({"url": "u", "count": 1.5}, "count", "is not of type 'integer'"),
        ({"url": "u", "count": True}, "count", "is not of type 'integer'"),
        ({"url": "u", "headers": []}, "headers", "is not of type 'object'"),
    ],
)
def test_bad_values_name_the_parameter(values: dict[str, Any], field: str, fragment: str) -> None:
    schema = parameters_schema(HTTP_LIKE, where="parameters")
    with pytest.raises(errors.ValidationError) as caught:
        validate_parameters(schema, values)
    assert caught.value.details["field"] == field
    assert [error["field"] for error in caught.value.details["errors"]] == [field]
    assert fragment in caught.value.message
    assert f"{field}: " in caught.value.message


def test_every_bad_value_is_reported() -> None:
    schema = parameters_schema(HTTP_LIKE, where="parameters")
    with pytest.raises(errors.ValidationError) as caught:
        validate_parameters(schema, {"method": 1, "extra": 2})
    # method breaks both its type and its enum: two errors, one parameter.
    fields = {error["field"] for error in caught.value.details["errors"]}
    assert fields == {"extra", "method", "url"}


def test_secret_values_never_appear_in_errors() -> None:
    schema = parameters_schema(
        {"token": {"type": "string", "secret": True, "enum": ["right"]}}, where="parameters"
    )
    with pytest.raises(errors.ValidationError) as caught:
        validate_parameters(schema, {"token": "hunter2-guess"})
    assert caught.value.details["field"] == "token"
    assert "hunter2" not in str(caught.value.details)
    assert "hunter2" not in caught.value.message


def test_secret_parameters() -> None:
    schema = parameters_schema(HTTP_LIKE, where="parameters")
    assert secret_parameters(schema) == frozenset({"password"})
    assert secret_parameters({}) == frozenset()


def test_a_schema_with_a_broken_ref_is_an_error_not_a_crash() -> None:
    schema = {"type": "object", "properties": {"x": {"$ref": "#/$defs/nowhere"}}}
    with pytest.raises(errors.ValidationError, match="unresolvable"):
        validate_parameters(schema, {"x": 1})
