"""Secret parameters as references: resolved for a child's secret parameters only, and only
from the workflow's own execution."""

from __future__ import annotations

import pytest

from attune import errors
from attune.engine.secret_references import as_references, resolve_references

PARENT = 7
SECRETS = {"token": "s3cret", "key": "k3y"}


def test_secret_parameters_become_references_and_the_others_stay() -> None:
    shown = as_references(PARENT, {"token": "s3cret", "host": "web-1"}, frozenset({"token"}))

    assert shown == {"token": "attune-secret://7/token", "host": "web-1"}


def test_a_reference_resolves_into_a_secret_parameter_nested_or_not() -> None:
    resolved = resolve_references(
        {
            "password": "attune-secret://7/token",
            "pair": {"a": ["attune-secret://7/key", "plain"]},
            "host": "web-1",
        },
        parent_id=PARENT,
        parent_secrets=SECRETS,
        child_secrets=frozenset({"password", "pair"}),
    )

    assert resolved == {"password": "s3cret", "pair": {"a": ["k3y", "plain"]}, "host": "web-1"}


@pytest.mark.parametrize(
    "value", ["attune-secret://7/token", ["x", {"deep": "attune-secret://7/token"}]]
)
def test_a_reference_in_a_parameter_not_marked_secret_is_refused(value: object) -> None:
    with pytest.raises(errors.ValidationError, match="parameter label: a secret") as refused:
        resolve_references(
            {"label": value},
            parent_id=PARENT,
            parent_secrets=SECRETS,
            child_secrets=frozenset(),
        )

    assert refused.value.details == {"field": "label"}


@pytest.mark.parametrize(
    "reference",
    [
        "attune-secret://8/token",  # another execution's
        "attune-secret://7/other",  # one the workflow does not have
    ],
)
def test_a_reference_to_what_is_not_this_workflows_secret_is_refused(reference: str) -> None:
    with pytest.raises(errors.ValidationError, match="is not a secret of this workflow"):
        resolve_references(
            {"password": {"nested": [reference]}},
            parent_id=PARENT,
            parent_secrets=SECRETS,
            child_secrets=frozenset({"password"}),
        )


def test_text_that_only_contains_a_reference_is_left_as_it_is() -> None:
    resolved = resolve_references(
        {"password": "prefix attune-secret://7/token"},
        parent_id=PARENT,
        parent_secrets=SECRETS,
        child_secrets=frozenset({"password"}),
    )

    assert resolved == {"password": "prefix attune-secret://7/token"}
