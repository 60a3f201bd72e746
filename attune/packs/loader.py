"""Loading a pack folder: every file read and checked, all problems reported at once.

Everything that can be checked without the database is checked here; the registrar only
resolves rules' and policies' refs to other packs. The layout:

    pack.yaml            ref, label, description, version, author, config_schema, config, tags
    actions/NAME.yaml    an action; its scripts live beside it under actions/
    triggers/NAME.yaml   a trigger
    rules/NAME.yaml      a rule
    policies/NAME.yaml   a policy: concurrency and rate limits on one action
    permission_sets/NAME.yaml  grants registered as the permission set `<pack>.NAME`
    sensors/NAME.yaml    a sensor: a polling class under the pack (see `sensors`)

Component files end in `.yaml` or `.yml`; other files and sub-folders are not components.

A symbolic link is followed only while it stays inside the pack: a component folder or
file (pack.yaml included) whose real path is outside is a problem, and is never read nor
listed. Links are listed like files, so that a link out is refused whether or not what it
points at exists, and the answer says nothing about the server's other files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from activities.runners.types import PACK_WORKFLOW_RUNNER
from attune.packs.components import (
    json_schema,
    load_action,
    load_policy,
    load_rule,
    load_trigger,
)
from attune.packs.definitions import (
    CORE_PACK,
    ActionDefinition,
    PackDefinition,
    SensorDefinition,
    TriggerDefinition,
)
from attune.packs.fields import NAME, SEMVER, Fields
from attune.packs.json_schema import dotted, instance_violations
from attune.packs.permission_sets import KIND, load_permission_set
from attune.packs.problems import PackError, Problem, Problems
from attune.packs.sensors import load_sensor
from attune.packs.workflow_code import WorkflowCode, check_entry_class, collect_workflow_code
from attune.packs.yaml_files import LINK_LOOP, OUTSIDE_THE_PACK, read_mapping

PACK_FIELDS = [
    "ref",
    "label",
    "description",
    "version",
    "author",
    "config_schema",
    "config",
    "tags",
]
COMPONENT_SUFFIXES = (".yaml", ".yml")


class _Named(Protocol):
    @property
    def file(self) -> str: ...

    @property
    def name(self) -> str: ...


NamedT = TypeVar("NamedT", bound=_Named)


def load_pack(path: Path) -> PackDefinition:
    """Read and check the pack folder at `path`.

    Raises `PackError` listing the problems as `<file>: <field>: <problem>`, files
    relative to the folder (at most `MAX_LISTED_PROBLEMS`, then how many more).
    """
    try:
        folder = path.resolve()
        is_folder = folder.is_dir()
        pack_yaml = folder / "pack.yaml"
        has_pack_yaml = is_folder and (pack_yaml.is_file() or pack_yaml.is_symlink())
    except (OSError, ValueError, RuntimeError):  # too long, a NUL byte, a loop of links
        is_folder = has_pack_yaml = False
    if not is_folder:
        raise PackError([Problem(str(path), None, "is not a folder")])
    if not has_pack_yaml:
        raise PackError([Problem("pack.yaml", None, f"missing: {path} has no pack.yaml")])
    problems = Problems()
    pack = _pack_fields(folder, problems)

    actions = _load_kind(
        folder, "actions", problems, lambda file, data: load_action(folder, file, data, problems)
    )
    timers = pack.get("ref") == CORE_PACK
    triggers = _load_kind(
        folder,
        "triggers",
        problems,
        lambda file, data: load_trigger(file, data, problems, timers=timers),
    )
    sensors, declared = _load_sensors(folder, pack.get("ref"), problems)
    triggers = _with_declared_triggers(triggers, declared, problems)
    _check_sensor_triggers(pack.get("ref"), sensors, triggers, problems)
    rules = _load_kind(
        folder, "rules", problems, lambda file, data: load_rule(file, data, problems)
    )
    policies = _load_kind(
        folder, "policies", problems, lambda file, data: load_policy(file, data, problems)
    )
    permission_sets = _load_kind(
        folder, KIND, problems, lambda file, data: load_permission_set(file, data, problems)
    )
    actions, code = _with_workflow_code(folder, actions, problems)
    problems.raise_if_any()
    return PackDefinition(
        path=folder,
        **pack,
        actions=tuple(actions),
        triggers=tuple(triggers),
        rules=tuple(rules),
        policies=tuple(policies),
        sensors=tuple(sensors),
        permission_sets=tuple(permission_sets),
        workflow_code=code,
    )


def _load_sensors(
    folder: Path, pack_ref: str | None, problems: Problems
) -> tuple[list[SensorDefinition], list[TriggerDefinition]]:
    """The sensors that loaded, and the triggers their files declare (`trigger_types`)."""
    declared: list[TriggerDefinition] = []

    def load(file: str, data: dict[str, Any]) -> SensorDefinition | None:
        sensor, triggers = load_sensor(folder, pack_ref, file, data, problems)
        declared.extend(triggers)
        return sensor

    return _load_kind(folder, "sensors", problems, load), declared


def _with_declared_triggers(
    triggers: list[TriggerDefinition], declared: list[TriggerDefinition], problems: Problems
) -> list[TriggerDefinition]:
    """The pack's triggers: its files' and those its sensors declare, each name once."""
    first = {trigger.name: trigger.file for trigger in triggers}
    for trigger in declared:
        if trigger.name in first:
            also = f"{trigger.name!r} is also defined by {first[trigger.name]}"
            problems.add(trigger.file, "trigger_types", also)
        first.setdefault(trigger.name, trigger.file)
    return [*triggers, *(item for item in declared if first[item.name] == item.file)]


def _check_sensor_triggers(
    pack_ref: str | None,
    sensors: Sequence[SensorDefinition],
    triggers: Sequence[TriggerDefinition],
    problems: Problems,
) -> None:
    """Every trigger a sensor names is one of the pack's."""
    known = {f"{pack_ref}.{trigger.name}" for trigger in triggers}
    for sensor in sensors:
        for ref in sensor.trigger_refs:
            if ref not in known:
                name = ref.partition(".")[2]
                unknown = f"unknown trigger {ref!r}: no triggers/{name}.yaml"
                problems.add(sensor.file, "triggers", unknown)


def _with_workflow_code(
    folder: Path, actions: list[ActionDefinition], problems: Problems
) -> tuple[list[ActionDefinition], WorkflowCode | None]:
    """The actions, each python-workflow one naming the digest of the code it runs."""
    workflows = [action for action in actions if action.runner_type == PACK_WORKFLOW_RUNNER]
    if not workflows:
        return actions, None
    code = collect_workflow_code(folder, problems)
    if code is None:
        return actions, None
    for action in workflows:
        check_entry_class(code, action.entry_point, action.file, problems)
    return [
        replace(action, code_digest=code.digest)
        if action.runner_type == PACK_WORKFLOW_RUNNER
        else action
        for action in actions
    ], code


def _pack_fields(folder: Path, problems: Problems) -> dict[str, Any]:
    """pack.yaml's fields as PackDefinition arguments (meaningful only without problems)."""
    data = read_mapping(folder, "pack.yaml", problems)
    if data is None:
        return {}
    fields = Fields("pack.yaml", data, problems, allowed=PACK_FIELDS)
    lowercase = "lowercase letters, digits, _ and -"
    values: dict[str, Any] = {
        "ref": fields.matching("ref", NAME, lowercase, required=True),
        "label": fields.text("label", required=True),
        "version": fields.matching("version", SEMVER, "a semantic version (1.2.3)", required=True),
        "description": fields.text("description"),
        "author": fields.text("author"),
        "tags": tuple(fields.strings("tags")),
    }
    schema = json_schema(fields, "config_schema")
    values["config_schema"] = schema or {}
    values["config"] = fields.mapping("config") or {}
    # Without a valid schema there is nothing to check the config against.
    if schema is not None:
        for violation in instance_violations(schema, values["config"]):
            fields.problem(dotted("config", violation.path), violation.message)
    return values


def _component_files(folder: Path, kind: str, problems: Problems) -> list[str]:
    """`kind/NAME.yaml` for each component file of one kind, in name order; `folder` is real."""
    where = folder / kind
    if not (where.exists() or where.is_symlink()):
        return []
    try:
        real = where.resolve()
    except RuntimeError:  # pathlib's word for a loop of links
        problems.add(kind, None, LINK_LOOP)
        return []
    if not real.is_relative_to(folder):
        problems.add(kind, None, OUTSIDE_THE_PACK)
        return []
    if not where.is_dir():
        problems.add(kind, None, "must be a folder")
        return []
    return sorted(
        f"{kind}/{entry.name}"
        for entry in where.iterdir()
        if entry.suffix in COMPONENT_SUFFIXES and (entry.is_symlink() or entry.is_file())
    )


def _load_kind(
    folder: Path,
    kind: str,
    problems: Problems,
    load: Callable[[str, dict[str, Any]], NamedT | None],
) -> list[NamedT]:
    """The definitions of one kind (`actions`, ...) that loaded without problems."""
    loaded: list[NamedT] = []
    for file in _component_files(folder, kind, problems):
        data = read_mapping(folder, file, problems)
        definition = load(file, data) if data is not None else None
        if definition is not None:
            loaded.append(definition)
    _check_unique_names(loaded, problems)
    return loaded


def _check_unique_names(definitions: Sequence[_Named], problems: Problems) -> None:
    """Refuse a name given twice, as by `echo.yaml` beside `echo.yml`."""
    first: dict[str, str] = {}
    for definition in definitions:
        if definition.name in first:
            problems.add(definition.file, "name", f"also defined by {first[definition.name]}")
        first.setdefault(definition.name, definition.file)
