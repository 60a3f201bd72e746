"""What an answer must be and who may give it: the rules the Update validator applies."""

from __future__ import annotations

from typing import Any

import pytest

from attune.inquiries import may_answer, response_problems, update_name

DEPLOY = {
    "type": "object",
    "properties": {
        "approve": {"type": "boolean"},
        "hosts": {"type": "array", "items": {"type": "string"}},
        "window": {
            "type": "object",
            "properties": {"start": {"type": "string"}},
            "required": ["start"],
        },
    },
    "required": ["approve", "hosts"],
}


@pytest.mark.parametrize(
    ("response", "fields"),
    [
        ({"approve": True, "hosts": []}, []),
        ({}, ["response.approve", "response.hosts"]),
        ({"approve": "yes", "hosts": []}, ["response.approve"]),
        ({"approve": True, "hosts": ["a", 2]}, ["response.hosts[1]"]),
        ({"approve": True, "hosts": [], "window": {}}, ["response.window"]),
        (["approve"], ["response"]),
    ],
)
def test_each_problem_names_its_field(response: Any, fields: list[str]) -> None:
    assert [problem["field"] for problem in response_problems(DEPLOY, response)] == fields


def test_a_missing_field_is_said_to_be_required() -> None:
    problems = response_problems(DEPLOY, {"hosts": []})

    assert problems == [{"field": "response.approve", "message": "is required"}]


def test_an_empty_schema_takes_any_object() -> None:
    assert response_problems({}, {"anything": [1, {"at": "all"}]}) == []


def test_no_assignees_means_anyone_may_answer() -> None:
    assert may_answer([], "whoever")
    assert may_answer(["alice", "bob"], "bob")
    assert not may_answer(["alice"], "bob")
    assert not may_answer(["alice"], "Alice")


def test_each_inquiry_has_an_update_of_its_own() -> None:
    assert update_name(7) == "attune.respond_inquiry.7"
    assert update_name(7) != update_name(8)
