"""Loading one action, trigger, rule or policy file into its definition, recording every problem.

A component's name is its file's name: `actions/echo.yaml` defines `echo`. The `name`
field may be left out; when given it must equal the file name, so a ref always leads to
one file and two files can never define the same component.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from activities.runners.types import PACK_WORKFLOW_RUNNER
from attune import errors
from attune.excerpts import excerpt, field_name, requoted
from attune.packs.definitions import (
    KNOWN_RUNNER_TYPES,
    LIMIT_FIELDS,
    PYTHON_ENTRY_RUNNER_TYPES,
    SCRIPT_RUNNER_TYPES,
    TIMER_TRIGGER_TYPE,
    TRIGGER_TYPES,
    ActionDefinition,
    PolicyDefinition,
    PolicyLimits,
    RuleDefinition,
    TriggerDefinition,
)
from attune.packs.fields import NAME, REF, Fields
from attune.packs.json_schema import dotted, schema_violations
from attune.packs.parameters import parameters_schema
from attune.packs.problems import Problems
from attune.rules.criteria import validate_criteria

COMMON_FIELDS = ("name", "label", "description")
ACTION_FIELDS = (
    *COMMON_FIELDS,
    "runner_type",
    "entry_point",
    "parameters",
    "output_schema",
    "timeout",
    "enabled",
)
TRIGGER_FIELDS = (*COMMON_FIELDS, "type", "payload_schema", "parameters_schema")
RULE_FIELDS = (*COMMON_FIELDS, "enabled", "trigger", "criteria", "action")
POLICY_FIELDS = (*COMMON_FIELDS, "enabled", "action", *LIMIT_FIELDS)
MAX_TIMEOUT = 2**31 - 1  # action.timeout_seconds is an INTEGER column
# Only for parsing: templates are rendered at event time by attune.rules.templating.
_templates = ImmutableSandboxedEnvironment()


def load_action(
    folder: Path, file: str, data: Mapping[str, Any], problems: Problems
) -> ActionDefinition | None:
    """The action in `data` (read from `file`), or None when it has problems."""
    before = problems.count
    fields = Fields(file, data, problems, allowed=ACTION_FIELDS)
    name = component_name(fields)
    runner = fields.text("runner_type", required=True)
    if runner is not None and runner not in KNOWN_RUNNER_TYPES:
        fields.problem(
            "runner_type",
            f"unknown {excerpt(runner)} (one of {', '.join(sorted(KNOWN_RUNNER_TYPES))})",
        )
        runner = None
    entry_point = _entry_point(fields, folder, runner)
    parameters: dict[str, Any] = {}
    given = fields.data.get("parameters")
    try:
        parameters = parameters_schema({} if given is None else given, where="parameters")
    except errors.ValidationError as error:
        for problem in error.details["problems"]:
            problems.add(file, problem["field"], problem["message"])
    definition = ActionDefinition(
        file=file,
        name=name or "",
        runner_type=runner or "",
        label=fields.text("label"),
        description=fields.text("description"),
        entry_point=entry_point,
        parameters=parameters,
        output_schema=json_schema(fields, "output_schema"),
        timeout_seconds=fields.positive_integer("timeout", maximum=MAX_TIMEOUT),
        enabled=fields.flag("enabled", True),
    )
    return definition if problems.count == before else None


def load_trigger(
    file: str, data: Mapping[str, Any], problems: Problems, *, timers: bool = False
) -> TriggerDefinition | None:
    """The trigger in `data` (read from `file`), or None when it has problems.

    `timers`: whether type `timer` is allowed (the core pack's, which Attune schedules).
    """
    before = problems.count
    fields = Fields(file, data, problems, allowed=TRIGGER_FIELDS)
    return trigger_definition(fields, component_name(fields), timers=timers, before=before)


def trigger_definition(
    fields: Fields, name: str | None, *, timers: bool, before: int
) -> TriggerDefinition | None:
    """The trigger whose fields are `fields` (a file, or one of a sensor's `trigger_types`)."""
    kind = fields.text("type") or "custom"
    known = TRIGGER_TYPES | {TIMER_TRIGGER_TYPE} if timers else TRIGGER_TYPES
    if kind not in known:
        fields.problem("type", f"unknown {excerpt(kind)} (one of {', '.join(sorted(known))})")
    definition = TriggerDefinition(
        file=fields.file,
        name=name or "",
        trigger_type=kind,
        label=fields.text("label"),
        description=fields.text("description"),
        payload_schema=json_schema(fields, "payload_schema") or {},
        parameters_schema=json_schema(fields, "parameters_schema") or {},
    )
    return definition if fields.problems.count == before else None


def load_rule(file: str, data: Mapping[str, Any], problems: Problems) -> RuleDefinition | None:
    """The rule in `data` (read from `file`), or None when it has problems."""
    before = problems.count
    fields = Fields(file, data, problems, allowed=RULE_FIELDS)
    hint = "a ref like pack.name"
    trigger_ref, trigger_parameters = _rule_trigger(fields, hint)
    criteria = fields.mapping("criteria") or {}
    _check_criteria(fields, criteria)
    action = fields.mapping("action", required=True)
    call = Fields(file, action or {}, problems, allowed=["ref", "parameters"], prefix="action.")
    action_ref = call.matching("ref", REF, hint, required=action is not None)
    action_parameters = call.mapping("parameters") or {}
    _check_templates(call, "parameters", action_parameters)
    definition = RuleDefinition(
        file=file,
        name=component_name(fields) or "",
        trigger_ref=trigger_ref or "",
        action_ref=action_ref or "",
        label=fields.text("label"),
        description=fields.text("description"),
        criteria=criteria,
        action_parameters=action_parameters,
        enabled=fields.flag("enabled", True),
        trigger_parameters=trigger_parameters,
    )
    return definition if problems.count == before else None


def _rule_trigger(fields: Fields, hint: str) -> tuple[str | None, dict[str, Any]]:
    """A rule's `trigger`: a ref, or StackStorm's `{type: REF, parameters: {...}}`."""
    given = fields.data.get("trigger")
    if not isinstance(given, Mapping):
        return fields.matching("trigger", REF, hint, required=True), {}
    nested = Fields(
        fields.file, given, fields.problems, allowed=["type", "parameters"], prefix="trigger."
    )
    ref = nested.matching("type", REF, hint, required=True)
    return ref, nested.mapping("parameters") or {}


def load_policy(file: str, data: Mapping[str, Any], problems: Problems) -> PolicyDefinition | None:
    """The policy in `data` (read from `file`), or None when it has problems."""
    before = problems.count
    fields = Fields(file, data, problems, allowed=POLICY_FIELDS)
    action_ref = fields.matching("action", REF, "an action ref like pack.name", required=True)
    limits = fields.model(PolicyLimits, LIMIT_FIELDS)
    definition = PolicyDefinition(
        file=file,
        name=component_name(fields) or "",
        action_ref=action_ref or "",
        label=fields.text("label"),
        description=fields.text("description"),
        enabled=fields.flag("enabled", True),
        **(limits.columns() if limits is not None else {}),
    )
    return definition if problems.count == before else None


def component_name(fields: Fields) -> str | None:
    """The component's name: the file's stem, which `name`, when given, must repeat."""
    stem = Path(fields.file).stem
    name = fields.text("name")
    if name is None and fields.data.get("name") is not None:
        return None  # not a string: already recorded
    if not NAME.match(stem):
        fields.problem(
            "name", f"the file name {excerpt(stem)} is not lowercase letters, digits, _, -"
        )
        return None
    if name is not None and name != stem:
        fields.problem(
            "name", f"{excerpt(name)} differs from the file name {excerpt(stem)}; make them equal"
        )
        return None
    return stem


def json_schema(fields: Fields, name: str) -> dict[str, Any] | None:
    """A field holding a JSON Schema (draft 2020-12); None when absent or invalid."""
    schema = fields.mapping(name)
    if schema is None:
        return None
    violations = schema_violations(schema)
    for violation in violations:
        fields.problem(
            dotted(name, violation.path), f"not a valid JSON Schema: {violation.message}"
        )
    return None if violations else schema


def _entry_point(fields: Fields, folder: Path, runner: str | None) -> str:
    entry = fields.text("entry_point")
    if runner is None:
        return entry or ""  # the runner is wrong already; nothing to check against
    if runner not in SCRIPT_RUNNER_TYPES:
        if entry:
            fields.problem("entry_point", f"runner {runner!r} takes no entry_point")
        return ""
    if entry is None:
        if fields.data.get("entry_point") is None:  # else: not a string, already recorded
            fields.problem("entry_point", f"is required for runner {runner!r}")
        return ""
    python = runner in PYTHON_ENTRY_RUNNER_TYPES
    script, _, target = entry.partition(":") if python else (entry, "", "")
    if target and not all(part.isidentifier() for part in target.split(".")):
        fields.problem("entry_point", f"{excerpt(target)} after ':' is not a Python name")
    if runner == PACK_WORKFLOW_RUNNER and (not target or not script.endswith(".py")):
        fields.problem(
            "entry_point",
            "must be file.py:ClassName, the file under actions/, e.g. workflows/deploy.py:Deploy",
        )
        return entry
    actions = (folder / "actions").resolve()
    try:
        # resolve() follows symlinks too, so a link pointing outside the pack is refused.
        candidate = (actions / script).resolve()
        inside = candidate.is_relative_to(actions)
        exists = inside and candidate.is_file()
    except (OSError, ValueError, RuntimeError):  # too long, a NUL byte, a loop of links
        fields.problem("entry_point", f"{excerpt(script)} cannot be a file in the pack")
        return entry
    if not inside:
        fields.problem(
            "entry_point", f"{excerpt(script)} must stay inside the pack's actions/ folder"
        )
    elif not exists:
        fields.problem("entry_point", f"{excerpt(f'actions/{script}')} does not exist")
    return entry


def _check_criteria(fields: Fields, criteria: Mapping[Any, Any]) -> None:
    # One condition at a time: validate_criteria stops at the first problem it finds.
    for path, condition in criteria.items():
        where = f"criteria.{field_name(path)}"
        if not isinstance(path, str):
            fields.problem(where, "a criteria key is a path like trigger.body.x")
            continue
        operator = condition.get("type") if isinstance(condition, Mapping) else None
        if operator is not None and not isinstance(operator, str):
            # validate_criteria looks it up in a set, which a list or a mapping would break.
            fields.problem(where, "the type must be a string naming an operator")
            continue
        try:
            validate_criteria({path: condition})
        except errors.ValidationError as error:
            message = error.message.removeprefix(f"criteria[{path!r}]: ")
            # validate_criteria quotes the path and the type whole; quote excerpts.
            fields.problem(where, requoted(requoted(message, path), operator))


def _check_templates(fields: Fields, where: str, value: Any) -> None:
    if isinstance(value, str) and ("{{" in value or "{%" in value or "{#" in value):
        try:
            _templates.parse(value)
        except TemplateSyntaxError as error:
            fields.problem(where, f"template does not parse: {error.message} (line {error.lineno})")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_templates(fields, f"{where}.{field_name(key)}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_templates(fields, f"{where}[{index}]", item)
