"""`attune run ACTION [name=value ...]`: run an action, typed as it declares its parameters,
and (with --watch, the default on a terminal) show its output as it comes and wait for its
end, exiting 0 only if it completed. Ctrl-C while watching asks whether to cancel it."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console

from attune.cli_execution_views import TERMINAL_STATUSES, execution_view, status_line
from attune.cli_output import OutputFollower
from attune.cli_support import (
    Output,
    OutputOption,
    cli_settings,
    errors,
    json_object_option,
    render,
    run_checked,
)
from attune.config import Settings

__all__ = ["OutputOption", "ParamsJsonOption", "run", "watch_to_the_end"]

ParamsJsonOption = Annotated[
    str | None,
    typer.Option(
        "--params-json",
        "--parameters",
        help='Parameters as a JSON object: \'{"message": "hi"}\' (name=value wins over it).',
    ),
]
# The pause between two looks at a watched execution: short at first, longer later.
FIRST_POLL_SECONDS = 0.2
LONGEST_POLL_SECONDS = 1.0
EXIT_INTERRUPTED = 130
TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


class ParameterText(ValueError):
    """A name=value the action's parameter types cannot read."""


def run(
    action: Annotated[str, typer.Argument(help="The action to run, e.g. core.echo.")],
    parameters: Annotated[
        list[str] | None,
        typer.Argument(help="name=value pairs, read with the types the action declares."),
    ] = None,
    params_json: ParamsJsonOption = None,
    watch: Annotated[
        bool | None,
        typer.Option(
            help="Wait for the end, showing its status; exit 0 only if it completed. "
            "Default: on when the output is a terminal."
        ),
    ] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Run an action now and print the execution (as it ended, when watched). Retried with
    one Idempotency-Key when the API gives no answer, so it runs once."""
    from attune.api_client import call_api

    settings = cli_settings()
    given: dict[str, Any] = {}
    if params_json is not None:
        given = json_object_option("--params-json", params_json, example='{"message": "hi"}')
    pairs = [_split_pair(pair) for pair in parameters or []]
    watching = sys.stdout.isatty() if watch is None else watch
    code = 0

    def step() -> None:
        nonlocal code
        if pairs:
            schema = call_api(settings, "GET", f"/actions/{quote(action, safe='')}")["parameters"]
            given.update(typed_parameters(pairs, schema))
        body = {"action": action, "parameters": given}
        execution = call_api(settings, "POST", "/executions", body, idempotent=True)
        if watching:
            execution, shown = watch_to_the_end(settings, execution, output)
            code = 0 if execution["status"] == "completed" else 1
            if shown and output is Output.TABLE:
                render(execution, output, lambda ended: execution_view(ended, with_output=False))
                return
        render(execution, output, execution_view)

    run_checked(step)
    raise typer.Exit(code=code)


def watch_to_the_end(
    settings: Settings, execution: Mapping[str, Any], output: Output
) -> tuple[dict[str, Any], bool]:
    """Look at the execution until it ends, telling each status on stderr and printing its
    output as it comes (on stderr too, when stdout is for `-o json` or `yaml`); the last
    look, and whether any output was printed.

    Ctrl-C asks whether to cancel it: yes sends the cancel and watches on to its end; no
    leaves it running and exits 130.
    """
    from attune.api_client import call_api

    path = f"/executions/{execution['id']}"
    current = dict(execution)
    live = OutputFollower(settings, current["id"], stdout_free=output is Output.TABLE)
    told = None
    pause = FIRST_POLL_SECONDS
    console = Console(stderr=True, highlight=False)
    while True:
        try:
            if current["status"] != told:
                console.print(status_line(current))
                told = current["status"]
            live.poll()  # after the status: output written before an ending is never missed
            if current["status"] in TERMINAL_STATUSES:
                return current, live.shown
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_POLL_SECONDS)
            current = call_api(settings, "GET", path)
        except KeyboardInterrupt:
            _ask_to_cancel(settings, current)


def _ask_to_cancel(settings: Settings, execution: Mapping[str, Any]) -> None:
    from attune.api_client import call_api

    number = execution["id"]
    try:
        cancel = typer.confirm(f"\nCancel execution {number}?", default=False, err=True)
    except (KeyboardInterrupt, typer.Abort):
        cancel = False
    if not cancel:
        errors.print(f"execution {number} goes on; see it with `attune execution get {number}`")
        raise typer.Exit(code=EXIT_INTERRUPTED)
    call_api(settings, "POST", f"/executions/{number}/cancel")


def _split_pair(pair: str) -> tuple[str, str]:
    name, equals, value = pair.partition("=")
    if not equals or not name:
        errors.print(f"[bold red]attune:[/] {pair!r} is not name=value")
        raise typer.Exit(code=2)
    return name, value


def typed_parameters(pairs: list[tuple[str, str]], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Each value read as its parameter's JSON Schema type; names the action does not
    declare stay strings (the API then says what is wrong). Exits 2 naming a bad value."""
    properties = schema.get("properties") or {}
    typed: dict[str, Any] = {}
    for name, text in pairs:
        try:
            typed[name] = typed_value(text, properties.get(name) or {})
        except ParameterText as problem:
            errors.print(f"[bold red]attune:[/] parameter {name}: {problem}")
            raise typer.Exit(code=2) from None
    return typed


def typed_value(text: str, schema: Mapping[str, Any]) -> Any:
    """`text` as the type `schema` declares (the first of several that reads it)."""
    declared = schema.get("type")
    kinds = declared if isinstance(declared, list) else [declared]
    problems = []
    for kind in kinds:
        try:
            return _as(kind, text, schema)
        except ParameterText as problem:
            problems.append(str(problem))
    raise ParameterText("; ".join(problems))


def _as(kind: Any, text: str, schema: Mapping[str, Any]) -> Any:
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ParameterText(f"{text!r} is not an integer") from None
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ParameterText(f"{text!r} is not a number") from None
        return int(number) if number.is_integer() and "." not in text else number
    if kind == "boolean":
        if text.lower() in TRUE_WORDS | FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise ParameterText(f"{text!r} is not a boolean (true or false)")
    if kind == "null":
        if text in ("", "null"):
            return None
        raise ParameterText(f"{text!r} is not null")
    if kind == "array":
        if text.lstrip().startswith("["):
            return _json(text, list, "an array")
        declared_items = schema.get("items")
        items = declared_items if isinstance(declared_items, dict) else {}
        return [typed_value(item.strip(), items) for item in text.split(",")] if text else []
    if kind == "object":
        return _json(text, dict, "an object")
    return text  # a string, or a parameter declaring no type


def _json(text: str, kind: type, what: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ParameterText(f"{text!r} is not JSON: {error}") from None
    if not isinstance(value, kind):
        raise ParameterText(f"{text!r} is not {what}")
    return value
