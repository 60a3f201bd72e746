"""Rendering a rule's action parameters from the event, with sandboxed Jinja2.

A string that is exactly one `{{ expression }}` keeps the expression's type, so
`"{{ trigger.count }}"` renders to the number 3, not the string "3". Anything else
renders to a string. An undefined name is an error, not an empty string: a parameter
that silently became "" would run the action with the wrong input.

Parameters a shell executes (`local-shell-cmd`'s `cmd`) are autoescaped for the shell, as
HTML templates are for HTML: every value a `{{ ... }}` puts into them is quoted for the
place it stands (`attune.rules.shell_quoting`), so `echo rolling back {{ trigger.service
}}`, or with the value in the author's own quotes, with the service `x; rm -rf /` runs
`echo` and nothing else. The text the author wrote is left as it is. An author who really
means to paste shell syntax from the event marks it: `{{ trigger.script | raw_shell }}`;
a command that runs its arguments as shell again (`sh -c`, `ssh`) gets `| shell_quote`.

Rendering is bounded (`attune.rules.sandbox`) and runs off the event loop
(`render_parameters_off_loop`), so a heavy template never stalls the API.

Templates may read the key-value store (`{{ keystore.system.NAME }}`, see
`attune.keys.templates`). Whoever renders knows which top-level parameter is rendering
(`rendering_parameter`), which is how an encrypted key is kept out of the parameters not
marked secret. A parameter that read an encrypted key never quotes a failure's reason:
the reason could hold the value.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Template

from attune import errors
from attune.excerpts import excerpt
from attune.json_limits import json_problem
from attune.rules import shell_quoting
from attune.rules.sandbox import BoundedSandbox, render_budget, render_text
from attune.rules.shell_quoting import RawShell

MAX_RENDERED_PARAMETERS_BYTES = 1_048_576
"""The largest parameters a rule may render, as JSON."""

# An exception's text can quote the values it failed on; the message keeps only its start.
MAX_REASON_CHARS = 300
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expression>.*?)\}\}\s*$", re.DOTALL)


class TemplateRefusal(Exception):
    """A template asked for what it may not have (a missing key, an encrypted key in a
    parameter not marked secret); the message says what, never a value. The parameter is
    named by whoever catches it."""


@dataclass
class ParameterRender:
    """The top-level parameter rendering now, and whether it has read an encrypted value."""

    name: str
    read_secret: bool = False


_rendering: ContextVar[ParameterRender | None] = ContextVar("attune_rendering", default=None)


def rendering_parameter() -> ParameterRender | None:
    """The top-level parameter whose template is rendering right now, if any."""
    return _rendering.get()


@contextmanager
def _rendering_of(name: str) -> Iterator[None]:
    token = _rendering.set(ParameterRender(name))
    try:
        yield
    finally:
        _rendering.reset(token)


def _raw_shell(value: Any) -> RawShell:
    return RawShell(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _decrypt_kv(value: Any) -> Any:
    """StackStorm's `decrypt_kv`: Attune's key lookups already give the decrypted value, so
    the filter only accepts it (an encrypted key still goes into secret parameters alone)."""
    return value


_environment = BoundedSandbox()
_shell_environment = BoundedSandbox(finalize=shell_quoting.finalize)
for _env in (_environment, _shell_environment):
    _env.filters["raw_shell"] = _raw_shell
    _env.filters["shell_quote"] = shell_quoting.shell_quote
    _env.filters["decrypt_kv"] = _decrypt_kv
    # `tojson` of a lazily read mapping (a pack config holding key templates) reads it out.
    _env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": _json_default}


@lru_cache(maxsize=1024)
def _compiled(text: str, *, shell: bool) -> Template:
    """A rule's template, compiled once: rules render the same texts over and over."""
    return (_shell_environment if shell else _environment).from_string(text)


def render_parameters(
    parameters: Mapping[str, Any],
    context: Mapping[str, Any],
    *,
    shell_parameters: Collection[str] = (),
) -> dict[str, Any]:
    """Render every string in `parameters` (nested in objects and lists) against `context`.

    `shell_parameters` name the top-level parameters a shell will execute: their values
    are shell-quoted. Raises `ValidationError` naming the parameter whose template failed
    or went past a limit.
    """
    rendered: dict[str, Any] = {}
    with render_budget():
        for name, value in parameters.items():
            with _rendering_of(name):
                rendered[name] = _render(value, context, name, shell=name in shell_parameters)
    _check_rendered(rendered)
    return rendered


def render_nested(text: str, context: Mapping[str, Any], where: str) -> Any:
    """A text met while a parameter renders (a pack config value holding a key template),
    rendered against `context` within that parameter's render: a lone expression keeps its
    type. Any failure is a `TemplateRefusal` whose message starts with `where`."""
    try:
        return _render_text(text, context, shell=False)
    except TemplateRefusal as refusal:
        raise TemplateRefusal(f"{where}: {_refused(refusal)}") from None
    except Exception as error:
        raise TemplateRefusal(f"{where}: {_cannot_render(text, error)}") from None


async def render_parameters_off_loop(
    parameters: Mapping[str, Any],
    context: Mapping[str, Any],
    *,
    shell_parameters: Collection[str] = (),
) -> dict[str, Any]:
    """`render_parameters` in a worker thread, so the event loop keeps serving meanwhile."""
    return await asyncio.to_thread(
        render_parameters, parameters, context, shell_parameters=shell_parameters
    )


def _check_rendered(rendered: dict[str, Any]) -> None:
    problem = json_problem(rendered, field="parameters")
    if problem is not None:
        where, message = problem
        raise errors.ValidationError(
            f"{where}: the rendered value {message}", details={"field": where}
        )
    size = len(json.dumps(rendered))
    if size > MAX_RENDERED_PARAMETERS_BYTES:
        raise errors.ValidationError(
            f"parameters: rendered to {size} bytes of JSON, more than the "
            f"{MAX_RENDERED_PARAMETERS_BYTES} allowed",
            details={"field": "parameters"},
        )


def _render(value: Any, context: Mapping[str, Any], where: str, *, shell: bool) -> Any:
    if isinstance(value, str):
        return _render_string(value, context, where, shell=shell)
    if isinstance(value, Mapping):
        return {
            key: _render(item, context, f"{where}.{key}", shell=shell)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _render(item, context, f"{where}[{index}]", shell=shell)
            for index, item in enumerate(value)
        ]
    return value


def _render_string(text: str, context: Mapping[str, Any], where: str, *, shell: bool) -> Any:
    if "{" not in text:
        return text
    try:
        return _render_text(text, context, shell=shell)
    except TemplateRefusal as refusal:
        raise errors.ValidationError(
            f"parameter {where}: {_refused(refusal)}", details={"field": where}
        ) from None
    # Not only Jinja's errors: `{{ a / 0 }}` raises ZeroDivisionError, `{{ 1 + "x" }}` a
    # TypeError, a non-JSON value (`{{ range(3) }}`) a TypeError or ValueError from json,
    # a limit `TemplateLimitExceeded`. Whatever a template does wrong is the rule's
    # problem, recorded, never the event's.
    except Exception as error:
        raise errors.ValidationError(
            f"parameter {where}: {_cannot_render(text, error)}", details={"field": where}
        ) from None


def _render_text(text: str, context: Mapping[str, Any], *, shell: bool) -> Any:
    expression = _lone_expression(text)
    # A shell reads text: a shell parameter always renders to (quoted) text.
    if expression is not None and not shell:
        return _evaluate(expression, context)
    if not shell:
        return render_text(_compiled(text, shell=False), dict(context))
    token = shell_quoting.begin()
    try:
        rendered = render_text(_compiled(text, shell=True), dict(context))
    finally:
        printed = shell_quoting.end(token)
    return shell_quoting.place_values(rendered, printed)


def _refused(refusal: TemplateRefusal) -> str:
    """A refusal's text, unless the parameter has read a secret before it was refused.

    Refusals quote only what the template wrote literally; hiding them once a secret was
    read keeps it so should one ever quote what a template computed (from the secret)."""
    reading = _rendering.get()
    if reading is not None and reading.read_secret:
        return "refused (the reason is not shown: the template read an encrypted key)"
    return str(refusal)


def _cannot_render(text: str, error: Exception) -> str:
    """Why `text` failed, quoting the error's text unless the parameter read a secret."""
    reading = _rendering.get()
    if reading is not None and reading.read_secret:
        reason = "(the reason is not shown: the template read an encrypted key)"
    else:
        reason = str(error)[:MAX_REASON_CHARS]
    return f"cannot render {excerpt(text)}: {type(error).__name__}: {reason}"


def _lone_expression(text: str) -> str | None:
    """The expression of a text that is exactly one `{{ expression }}`, else None."""
    single = _SINGLE_EXPRESSION.match(text)
    if single is None or "{{" in single["expression"] or "}}" in single["expression"]:
        return None
    return single["expression"]


def _evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """A lone expression's value, with its type: a number stays a number."""
    result = _environment.compile_expression(expression, undefined_to_none=False)(**context)
    if isinstance(result, _environment.undefined):
        str(result)  # raises UndefinedError naming the missing variable
    if isinstance(result, RawShell):
        return str(result)
    # A value must survive the trip to PostgreSQL and to the action as JSON.
    try:
        json.dumps(result)
    except TypeError:
        # Perhaps a mapping read lazily (a pack config holding key templates): read it out.
        result = _plain(result)
        json.dumps(result)
    return result


def _plain(value: Any) -> Any:
    """`value` with every mapping a plain dict (a lazy one renders what it holds)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
