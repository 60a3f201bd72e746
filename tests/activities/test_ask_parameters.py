"""The parameters of `core.ask`: defaults filled in, every bad one named."""

from __future__ import annotations

import pytest

from activities.ask_parameters import DEFAULT_TTL_SECONDS, read_ask_parameters
from attune import errors


def test_ask_parameters_have_defaults() -> None:
    asked = read_ask_parameters({"prompt": "Go?"})

    assert (asked.prompt, asked.schema, asked.assignees) == ("Go?", {}, [])
    assert asked.ttl == DEFAULT_TTL_SECONDS


def test_every_bad_ask_parameter_is_named() -> None:
    with pytest.raises(errors.ValidationError) as raised:
        read_ask_parameters(
            {
                "prompt": " ",
                "schema": {"properties": {"a": {"$ref": "#/nowhere"}}},
                "assignees": "alice",
                "ttl": True,
            }
        )

    named = [problem["field"] for problem in raised.value.details["errors"]]
    assert named == ["prompt", "schema", "assignees", "ttl"]
    assert raised.value.details["field"] == "prompt"
    assert "does not resolve" in raised.value.message
