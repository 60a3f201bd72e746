"""Rendering a rule's action parameters from the event, with sandboxed Jinja2.

A string that is exactly one `{{ expression }}` keeps the expression's type, so
`"{{ trigger.count }}"` renders to the number 3, not the string "3". Anything else
renders to a string. An undefined name is an error, not an empty string: a parameter
that silently became "" would run the action with the wrong input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from attune import errors

_environment = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expression>.*?)\}\}\s*$", re.DOTALL)


def render_parameters(parameters: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Render every string in `parameters` (nested in objects and lists) against `context`.

    Raises `ValidationError` naming the parameter whose template failed.
    """
    return {name: _render(value, context, name) for name, value in parameters.items()}


def _render(value: Any, context: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, str):
        return _render_string(value, context, where)
    if isinstance(value, Mapping):
        return {key: _render(item, context, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, context, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def _render_string(text: str, context: Mapping[str, Any], where: str) -> Any:
    if "{" not in text:
        return text
    try:
        single = _SINGLE_EXPRESSION.match(text)
        if single and "{{" not in single["expression"] and "}}" not in single["expression"]:
            result = _environment.compile_expression(single["expression"], undefined_to_none=False)(
                **context
            )
            if isinstance(result, StrictUndefined):
                str(result)  # raises UndefinedError naming the missing variable
            # A value must survive the trip to PostgreSQL and to the action as JSON.
            json.dumps(result)
            return result
        return _environment.from_string(text).render(**context)
    # Not only Jinja's errors: `{{ a / 0 }}` raises ZeroDivisionError, `{{ 1 + "x" }}` a
    # TypeError, a non-JSON value (`{{ range(3) }}`) a TypeError or ValueError from json.
    # Whatever a template does wrong is the rule's problem, recorded, never the event's.
    except Exception as error:
        raise errors.ValidationError(
            f"parameter {where}: cannot render {text!r}: {type(error).__name__}: {error}",
            details={"field": where},
        ) from None
