"""The parameters of an `inquirer` action (`core.ask`), checked before an inquiry is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from attune import errors
from attune.packs.json_schema import dotted, schema_violations

DEFAULT_TTL_SECONDS = 86_400
# Ten years: beyond that a typo is likelier than a wish, and timestamps stay in range.
MAX_TTL_SECONDS = 10 * 366 * 86_400


@dataclass(frozen=True)
class AskParameters:
    """The checked parameters of an `inquirer` action."""

    prompt: str
    schema: dict[str, Any]
    assignees: list[str]
    ttl: int


def read_ask_parameters(parameters: Mapping[str, Any]) -> AskParameters:
    """`prompt`, `schema`, `assignees` and `ttl`, checked; `ValidationError` naming each bad one.

    Checked here as well as by the action's own schema, because any pack may declare an
    `inquirer` action; and the schema must be one a validator can apply without fetching
    anything (no remote `$ref`), since the workflow applies it.
    """
    problems: list[dict[str, str]] = []
    prompt = parameters.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append({"field": "prompt", "message": "must be a non-empty string"})
    schema = parameters.get("schema", {})
    if not isinstance(schema, dict):
        problems.append({"field": "schema", "message": "must be a JSON Schema object"})
    else:
        for violation in schema_violations(schema):
            field = dotted("schema", violation.path)
            problems.append({"field": field, "message": violation.message})
    assignees = parameters.get("assignees", [])
    if not isinstance(assignees, list) or not all(
        isinstance(login, str) and login for login in assignees
    ):
        problems.append({"field": "assignees", "message": "must be a list of identity logins"})
    ttl = parameters.get("ttl", DEFAULT_TTL_SECONDS)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= MAX_TTL_SECONDS:
        problems.append(
            {
                "field": "ttl",
                "message": f"must be a whole number of seconds, 1 to {MAX_TTL_SECONDS}",
            }
        )
    if problems:
        raise errors.ValidationError(
            f"invalid parameters: {errors.summarize(problems)}",
            details={"field": problems[0]["field"], "errors": problems},
        )
    return AskParameters(str(prompt), dict(schema), list(assignees), int(ttl))
