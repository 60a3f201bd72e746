"""Action parameters: from a pack's `name: {type, ...}` map to JSON Schema, and checked values.

The schema is what the database stores (`action.parameters`) and what an execution request
is validated against, so the pack format is translated once, at load time.
"""

from __future__ import annotations

import copy
import keyword
import re
from collections.abc import Mapping
from typing import Any

from attune import errors
from attune.packs.json_schema import dotted, instance_violations

TYPES = ("string", "integer", "number", "boolean", "object", "array")
KEYS = frozenset({"type", "description", "required", "default", "secret", "enum"})
# Parameter names become keyword arguments of Python entry points and environment variables.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME_RULE = "a name is letters, digits and _, not starting with a digit, not a Python keyword"


def parameters_schema(parameters: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """The draft 2020-12 JSON Schema of a parameter map; fields are named from `where`.

    Raises `ValidationError` whose `details["problems"]` lists every `{field, message}`,
    such as `parameters.count.type`.
    """
    problems: list[dict[str, str]] = []
    if not isinstance(parameters, Mapping):
        problems.append({"field": where, "message": "must be a map of name: {type, ...}"})
        parameters = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in parameters.items():
        field = f"{where}.{name}"
        if not isinstance(name, str) or not NAME.match(name) or keyword.iskeyword(name):
            problems.append({"field": field, "message": NAME_RULE})
            continue
        prop, is_required, found = _property(spec, field)
        problems.extend(found)
        properties[name] = prop
        if is_required:
            required.append(name)
    if problems:
        message = errors.summarize(problems)
        raise errors.ValidationError(
            message, details={"field": problems[0]["field"], "problems": problems}
        )
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _property(spec: Any, field: str) -> tuple[dict[str, Any], bool, list[dict[str, str]]]:
    """One parameter's property schema, whether it is required, and its problems."""
    if not isinstance(spec, Mapping):
        return {}, False, [{"field": field, "message": "must be a map of type, description, ..."}]
    problems = [
        {"field": f"{field}.{key}", "message": f"unknown key (allowed: {', '.join(sorted(KEYS))})"}
        for key in spec
        if key not in KEYS
    ]
    prop: dict[str, Any] = {}
    kind = spec.get("type")
    if kind is not None:
        if kind in TYPES:
            prop["type"] = kind
        else:
            problems.append(
                {"field": f"{field}.type", "message": f"must be one of {', '.join(TYPES)}"}
            )
    for flag in ("required", "secret"):
        if not isinstance(spec.get(flag, False), bool):
            problems.append({"field": f"{field}.{flag}", "message": "must be true or false"})
    if "description" in spec:
        if isinstance(spec["description"], str):
            prop["description"] = spec["description"]
        else:
            problems.append({"field": f"{field}.description", "message": "must be a string"})
    if "enum" in spec:
        enum_problems = _enum_problems(spec["enum"], prop, field)
        problems.extend(enum_problems)
        if not enum_problems:  # a broken enum would only add noise to the default's check
            prop["enum"] = spec["enum"]
    if "default" in spec:
        # Checked against the type and enum only, so the `default` keyword is not in play yet.
        for violation in instance_violations(prop, spec["default"]):
            message = f"does not fit its own type or enum: {violation.message}"
            problems.append(
                {"field": dotted(f"{field}.default", violation.path), "message": message}
            )
        prop["default"] = spec["default"]
    if spec.get("secret") is True:
        prop["secret"] = True
    return prop, spec.get("required") is True, problems


def _enum_problems(enum: Any, prop: Mapping[str, Any], field: str) -> list[dict[str, str]]:
    if not isinstance(enum, list) or not enum:
        return [{"field": f"{field}.enum", "message": "must be a non-empty list"}]
    typed = {"type": prop["type"]} if "type" in prop else {}
    return [
        {"field": f"{field}.enum[{index}]", "message": f"does not fit the type: {bad.message}"}
        for index, value in enumerate(enum)
        for bad in instance_violations(typed, value)
    ]


def validate_parameters(schema: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with defaults filled in for absent parameters, checked against `schema`.

    Raises `ValidationError` naming the parameter: `details` is `{"field": <first name>,
    "errors": [{"field", "message"}, ...]}`. Values of secret parameters never appear.
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    filled = dict(values)
    for name, prop in properties.items():
        if name not in filled and isinstance(prop, Mapping) and "default" in prop:
            filled[name] = copy.deepcopy(prop["default"])
    problems: list[dict[str, str]] = []
    for name in schema.get("required", []):
        if name not in filled:
            problems.append({"field": name, "message": "is required"})
    if schema.get("additionalProperties") is False:
        for name in sorted(set(filled) - set(properties)):
            problems.append({"field": name, "message": "is not a parameter of this action"})
    secrets = secret_parameters(schema)
    for violation in instance_violations(schema, filled):
        if not violation.path and violation.keyword in {"required", "additionalProperties"}:
            continue  # reported above, by name
        name = str(violation.path[0]) if violation.path else "parameters"
        message = violation.message
        # A root-level message quotes the whole object, secrets included.
        if name in secrets or (not violation.path and secrets):
            message = f"invalid value (fails {violation.keyword!r}; value not shown, it is secret)"
        where = dotted(name, violation.path[1:])
        problems.append(
            {"field": name, "message": message if where == name else f"{where}: {message}"}
        )
    if problems:
        raise errors.ValidationError(
            f"invalid parameters: {errors.summarize(problems)}",
            details={"field": problems[0]["field"], "errors": problems},
        )
    return filled


def secret_parameters(schema: Mapping[str, Any]) -> frozenset[str]:
    """The names of the parameters marked `secret: true`."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    return frozenset(
        name
        for name, prop in properties.items()
        if isinstance(prop, Mapping) and prop.get("secret") is True
    )


SECRET_MASK = "********"


def mask_secrets(values: Mapping[str, Any], secrets: frozenset[str] | None) -> dict[str, Any]:
    """`values` with each secret's value replaced; `None` (unknown secrets) masks them all.

    Used where parameters are shown or kept for the record rather than run.
    """
    return {
        name: SECRET_MASK if secrets is None or name in secrets else value
        for name, value in values.items()
    }
