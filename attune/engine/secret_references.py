"""A workflow's secret parameters, handed to its code as references, never as values.

A pack workflow's parameters travel through Temporal's history, which is not where a
password belongs. So the workflow code gets each secret parameter as a reference,
`attune-secret://<execution id>/<name>`, which it can pass on to `run_action` for a
child's parameter marked `secret: true`; the activity that writes the child row then
resolves it, from the parent's own sealed secrets. A workflow can only resolve references
to its own execution, and only into a child's secret parameters, so a secret never lands
in a child's parameters in the clear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from attune import errors

PREFIX = "attune-secret://"
_REFERENCE = re.compile(r"attune-secret://([0-9]+)/([A-Za-z_][A-Za-z0-9_]*)")


def as_references(
    execution_id: int, parameters: Mapping[str, Any], secrets: frozenset[str]
) -> dict[str, Any]:
    """The parameters a workflow's code runs with: each secret one as a reference."""
    return {
        name: f"{PREFIX}{execution_id}/{name}" if name in secrets else value
        for name, value in parameters.items()
    }


def resolve_references(
    parameters: Mapping[str, Any],
    *,
    parent_id: int,
    parent_secrets: Mapping[str, Any],
    child_secrets: frozenset[str],
) -> dict[str, Any]:
    """A child's parameters with the parent's references replaced by their values.

    `ValidationError` naming the parameter for a reference put into a parameter that is not
    secret, or one naming another execution or a secret the parent does not have.
    """
    resolved: dict[str, Any] = {}
    for name, value in parameters.items():
        if name not in child_secrets:
            if _holds_reference(value):
                raise errors.ValidationError(
                    f"parameter {name}: a secret of the workflow may only go into a "
                    "parameter marked secret: true",
                    details={"field": name},
                )
            resolved[name] = value
        else:
            resolved[name] = _resolved(value, name, parent_id, parent_secrets)
    return resolved


def _resolved(value: Any, field: str, parent_id: int, secrets: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        found = _REFERENCE.fullmatch(value)
        if found is None:
            return value
        execution, name = int(found[1]), found[2]
        if execution != parent_id or name not in secrets:
            raise errors.ValidationError(
                f"parameter {field}: {value} is not a secret of this workflow",
                details={"field": field},
            )
        return secrets[name]
    if isinstance(value, dict):
        return {key: _resolved(item, field, parent_id, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, field, parent_id, secrets) for item in value]
    return value


def _holds_reference(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith(PREFIX)
    if isinstance(value, dict):
        return any(_holds_reference(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_reference(item) for item in value)
    return False
