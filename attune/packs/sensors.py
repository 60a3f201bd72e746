"""Loading a pack's `sensors/NAME.yaml`: the class it runs, the triggers it emits, its pace.

Attune's form names the class relative to the pack and the pack's triggers it emits:

    entry_point: sensors/watch.py:Watcher
    triggers: [line]              # or mypack.line
    poll_interval: 30             # seconds

StackStorm's form is read as well: `entry_point` relative to `sensors/` with the class in
`class_name`, and `trigger_types` declaring the triggers in the sensor's own file (each
becomes a trigger of the pack, as if it had its own file under `triggers/`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attune.excerpts import excerpt
from attune.packs.components import (
    COMMON_FIELDS,
    TRIGGER_FIELDS,
    component_name,
    trigger_definition,
)
from attune.packs.definitions import SensorDefinition, TriggerDefinition
from attune.packs.fields import NAME, REF, Fields
from attune.packs.problems import Problems

SENSOR_FIELDS = (
    *COMMON_FIELDS,
    "entry_point",
    "class_name",
    "triggers",
    "trigger_types",
    "poll_interval",
    "enabled",
)
DEFAULT_POLL_INTERVAL = 60
MAX_POLL_INTERVAL = 7 * 24 * 3600  # a week: slower than that is a timer's job


def load_sensor(
    folder: Path, pack_ref: str | None, file: str, data: Mapping[str, Any], problems: Problems
) -> tuple[SensorDefinition | None, list[TriggerDefinition]]:
    """The sensor in `data` and the triggers its `trigger_types` declare (None: problems)."""
    before = problems.count
    fields = Fields(file, data, problems, allowed=SENSOR_FIELDS)
    name = component_name(fields)
    declared = _trigger_types(fields, pack_ref)
    refs = [_qualified(fields, pack_ref, item) for item in fields.strings("triggers")]
    if pack_ref is not None:
        refs += [f"{pack_ref}.{trigger.name}" for trigger in declared]
    if not refs and problems.count == before:
        fields.problem("triggers", "name at least one trigger the sensor emits")
    definition = SensorDefinition(
        file=file,
        name=name or "",
        entry_point=_entry_point(fields, folder),
        trigger_refs=sorted({ref for ref in refs if ref}),
        poll_interval_seconds=fields.positive_integer("poll_interval", maximum=MAX_POLL_INTERVAL)
        or DEFAULT_POLL_INTERVAL,
        label=fields.text("label"),
        description=fields.text("description"),
        enabled=fields.flag("enabled", True),
    )
    return (definition if problems.count == before else None), declared


def _qualified(fields: Fields, pack_ref: str | None, ref: str) -> str:
    """`line` or `mypack.line`, as `mypack.line`; a ref into another pack is refused."""
    if NAME.match(ref) and pack_ref is not None:
        return f"{pack_ref}.{ref}"
    if not REF.match(ref) or ref.partition(".")[0] != pack_ref:
        fields.problem("triggers", f"{excerpt(ref)} is not one of this pack's triggers")
        return ""
    return ref


def _trigger_types(fields: Fields, pack_ref: str | None) -> list[TriggerDefinition]:
    """The triggers declared in the sensor's file (StackStorm's `trigger_types`)."""
    given = fields.data.get("trigger_types")
    if given is None:
        return []
    if not isinstance(given, list):
        fields.problem("trigger_types", "must be a list of triggers ({name, payload_schema})")
        return []
    declared: list[TriggerDefinition] = []
    for index, item in enumerate(given):
        where = f"trigger_types[{index}]"
        if not isinstance(item, Mapping):
            fields.problem(where, "must be a mapping with at least a name")
            continue
        before = fields.problems.count
        # StackStorm's trigger_types may repeat the pack (`pack: mypack`).
        allowed = (*TRIGGER_FIELDS, "pack")
        nested = Fields(fields.file, item, fields.problems, allowed=allowed, prefix=f"{where}.")
        name = nested.matching("name", NAME, "lowercase letters, digits, _ and -", required=True)
        pack = nested.text("pack")
        if pack is not None and pack != pack_ref:
            nested.problem("pack", f"{excerpt(pack)} is not this pack ({pack_ref})")
        trigger = trigger_definition(nested, name, timers=False, before=before)
        if trigger is not None:
            declared.append(trigger)
    return declared


def _entry_point(fields: Fields, folder: Path) -> str:
    """`sensors/file.py:ClassName`, checked to be a file inside the pack."""
    entry = fields.text("entry_point", required=True) or ""
    class_name = fields.text("class_name")
    if class_name is not None:  # StackStorm: the file relative to sensors/, the class apart
        script, target = f"sensors/{entry}", class_name
    else:
        script, _, target = entry.partition(":")
    if not entry:
        return ""
    if not target or not all(part.isidentifier() for part in target.split(".")):
        fields.problem(
            "entry_point", "must be file.py:ClassName under the pack, e.g. sensors/watch.py:Watch"
        )
        return ""
    try:
        candidate = (folder / script).resolve()
        inside = candidate.is_relative_to(folder)
        exists = inside and candidate.is_file()
    except (OSError, ValueError, RuntimeError):
        fields.problem("entry_point", f"{excerpt(script)} cannot be a file in the pack")
        return ""
    if not inside:
        fields.problem("entry_point", f"{excerpt(script)} must stay inside the pack")
    elif not exists or not script.endswith(".py"):
        fields.problem("entry_point", f"{excerpt(script)} is not a Python file in the pack")
    return f"{Path(script).as_posix()}:{target}"
