"""Registering a loaded pack in the database: create or update, remove what is gone.

Rows are updated in place, so ids (and the history pointing at them) survive a
re-registration. Rules' and policies' refs are resolved before anything is written;
still, the registrar only flushes: the caller owns the transaction and rolls back on any
error, so a refused pack leaves nothing half-registered.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from attune.packs.definitions import (
    ActionDefinition,
    PackDefinition,
    PolicyDefinition,
    RuleDefinition,
    SensorDefinition,
    TriggerDefinition,
)
from attune.packs.json_schema import dotted, instance_violations
from attune.packs.loader import load_pack
from attune.packs.permission_sets import sync_permission_sets
from attune.packs.problems import Problems
from attune.timers.specs import TIMER_TRIGGERS, TimerError, timer_spec
from db.models import Pack, PackContent
from db.repositories import action, pack, policy, rule, sensor, trigger, workflow_code
from db.repositories.base import MAX_LIMIT, Repository

ContentT = TypeVar("ContentT", bound=PackContent)
PackChange = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Changes:
    """The refs of one kind of component, by what registering did to them."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegistrationSummary:
    """The pack registered, what happened to its row, and per kind what happened to each ref."""

    pack: str
    pack_id: int
    pack_change: PackChange
    actions: Changes
    triggers: Changes
    rules: Changes
    policies: Changes
    sensors: Changes = Changes()
    permission_sets: Changes = Changes()


async def register_pack_folder(session: AsyncSession, path: Path) -> RegistrationSummary:
    """Load the pack folder at `path` and register it (see `register_pack`)."""
    # Reading many small files blocks; keep the event loop free meanwhile.
    definition = await asyncio.to_thread(load_pack, path)
    return await register_pack(session, definition)


async def register_pack(session: AsyncSession, definition: PackDefinition) -> RegistrationSummary:
    """Create or update the pack and its components; delete those no longer in it.

    Raises `PackError` naming `rules/<file>` and `trigger` or `action.ref`, or
    `policies/<file>` and `action`, for a ref found neither in this pack nor, for other
    packs, in the database. Flushes, never commits.
    """
    other_triggers, other_actions = await _resolve_other_packs(session, definition)
    await _check_trigger_parameters(session, definition)
    record, pack_change = await _upsert_pack(session, definition)
    if definition.workflow_code is not None:
        # Kept for good: a run that started on this version replays on it.
        await workflow_code.keep(
            session,
            digest=definition.workflow_code.digest,
            pack_ref=definition.ref,
            files=definition.workflow_code.files,
        )
    triggers, trigger_changes = await _sync(
        session,
        trigger.repository,
        record,
        {definition.ref_of(item.name): _columns(item) for item in definition.triggers},
    )
    actions, action_changes = await _sync(
        session,
        action.repository,
        record,
        {definition.ref_of(item.name): _columns(item) for item in definition.actions},
    )
    trigger_ids = other_triggers | {ref: found.id for ref, found in triggers.items()}
    action_ids = other_actions | {ref: found.id for ref, found in actions.items()}
    rules = {
        definition.ref_of(item.name): _columns(item)
        | {"trigger_id": trigger_ids[item.trigger_ref], "action_id": action_ids[item.action_ref]}
        for item in definition.rules
    }
    _, rule_changes = await _sync(session, rule.repository, record, rules)
    policies = {
        definition.ref_of(item.name): _columns(item) | {"action_id": action_ids[item.action_ref]}
        for item in definition.policies
    }
    _, policy_changes = await _sync(session, policy.repository, record, policies)
    _, sensor_changes = await _sync(
        session,
        sensor.repository,
        record,
        {definition.ref_of(item.name): _columns(item) for item in definition.sensors},
    )
    sets = await sync_permission_sets(session, record.ref, definition.permission_sets)
    return RegistrationSummary(
        pack=record.ref,
        pack_id=record.id,
        pack_change=pack_change,
        actions=action_changes,
        triggers=trigger_changes,
        rules=rule_changes,
        policies=policy_changes,
        sensors=sensor_changes,
        permission_sets=Changes(
            created=tuple(sets.created),
            updated=tuple(sets.updated),
            unchanged=tuple(sets.unchanged),
            removed=tuple(sets.removed),
        ),
    )


async def _check_trigger_parameters(session: AsyncSession, definition: PackDefinition) -> None:
    """Each rule's trigger parameters against its trigger's `parameters_schema`.

    A timer's are checked further (a cron field, a time zone), so that a bad timer is
    refused here, naming its file and field, rather than by Temporal later. PackError.
    """
    problems = Problems()
    own = {definition.ref_of(item.name): item.parameters_schema for item in definition.triggers}
    for item in definition.rules:
        schema = own.get(item.trigger_ref)
        if schema is None:
            found = await trigger.repository.find_by_key(session, item.trigger_ref)
            schema = found.parameters_schema if found is not None else {}
        where = "trigger.parameters"
        if not schema:
            if item.trigger_parameters:
                problems.add(item.file, where, f"trigger {item.trigger_ref!r} takes no parameters")
            continue
        violations = instance_violations(schema, item.trigger_parameters)
        for violation in violations:
            problems.add(item.file, dotted(where, violation.path), violation.message)
        if not violations and item.trigger_ref in TIMER_TRIGGERS:
            try:
                timer_spec(item.trigger_ref, item.trigger_parameters)
            except TimerError as error:
                problems.add(item.file, f"{where}.{error.field}", error.message)
    problems.raise_if_any()


@dataclass(frozen=True)
class _Reference:
    """A ref one of the pack's components names: where (file and field) and to what."""

    file: str
    field: str
    ref: str


async def _resolve_other_packs(
    session: AsyncSession, definition: PackDefinition
) -> tuple[dict[str, int], dict[str, int]]:
    """Ids of the triggers and actions named in other packs (by rules and policies).

    PackError for unknown refs, all of them at once.
    """
    problems = Problems()
    trigger_ids = await _ids_in_other_packs(
        session,
        definition,
        problems,
        noun="trigger",
        repository=trigger.repository,
        own=definition.triggers,
        references=[
            _Reference(item.file, "trigger", item.trigger_ref) for item in definition.rules
        ],
    )
    action_ids = await _ids_in_other_packs(
        session,
        definition,
        problems,
        noun="action",
        repository=action.repository,
        own=definition.actions,
        references=[
            *(_Reference(item.file, "action.ref", item.action_ref) for item in definition.rules),
            *(_Reference(item.file, "action", item.action_ref) for item in definition.policies),
        ],
    )
    problems.raise_if_any()
    return trigger_ids, action_ids


async def _ids_in_other_packs(
    session: AsyncSession,
    definition: PackDefinition,
    problems: Problems,
    *,
    noun: str,
    repository: Repository[ContentT],
    own: Iterable[ActionDefinition | TriggerDefinition],
    references: Sequence[_Reference],
) -> dict[str, int]:
    """Ids of the `noun`s that `references` name in other packs; a problem for each unknown.

    A ref into this pack must name one of its definitions: a row still in the database
    but gone from the folder is about to be deleted, so it does not count.
    """
    own_refs = {definition.ref_of(item.name) for item in own}
    found: dict[str, int] = {}
    for reference in references:
        ref = reference.ref
        if ref in own_refs or ref in found:
            continue
        pack_ref, _, name = ref.partition(".")
        if pack_ref == definition.ref:
            message = f"unknown {noun} {ref!r}: no {noun}s/{name}.yaml"
            problems.add(reference.file, reference.field, message)
            continue
        record = await repository.find_by_key(session, ref)
        if record is None:
            hint = f"is pack {pack_ref!r} registered?"
            problems.add(reference.file, reference.field, f"unknown {noun} {ref!r} ({hint})")
        else:
            found[ref] = record.id
    return found


async def _upsert_pack(
    session: AsyncSession, definition: PackDefinition
) -> tuple[Pack, PackChange]:
    """The pack's row, created or updated, and which of the two (or unchanged) it was."""
    values: dict[str, Any] = {
        "label": definition.label,
        "description": definition.description,
        "version": definition.version,
        "author": definition.author,
        "config_schema": definition.config_schema,
        "config": definition.config,
        "tags": list(definition.tags),
        "path": str(definition.path),
    }
    existing = await pack.repository.find_by_key(session, definition.ref)
    if existing is None:
        return await pack.repository.create(session, ref=definition.ref, **values), "created"
    changes = _changes(existing, values)
    updated = await pack.repository.update(session, id=existing.id, changes=changes)
    return updated, "updated" if changes else "unchanged"


async def _sync(
    session: AsyncSession,
    repository: Repository[ContentT],
    owner: Pack,
    wanted: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, ContentT], Changes]:
    """Make the pack's rows of one kind exactly `wanted` (ref to values); rows by ref."""
    existing = {row.ref: row for row in await _all_of_pack(session, repository, owner.id)}
    rows: dict[str, ContentT] = {}
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for ref, values in wanted.items():
        row = existing.get(ref)
        if row is None:
            fields = {"ref": ref, "pack_id": owner.id, "pack_ref": owner.ref, **values}
            rows[ref] = await repository.create(session, **fields)
            created.append(ref)
            continue
        changes = _changes(row, values)
        rows[ref] = await repository.update(session, id=row.id, changes=changes)
        (updated if changes else unchanged).append(ref)
    removed = sorted(set(existing) - set(wanted))
    for ref in removed:
        await repository.delete(session, id=existing[ref].id)
    return rows, Changes(
        created=tuple(sorted(created)),
        updated=tuple(sorted(updated)),
        unchanged=tuple(sorted(unchanged)),
        removed=tuple(removed),
    )


async def _all_of_pack(
    session: AsyncSession, repository: Repository[ContentT], pack_id: int
) -> list[ContentT]:
    """Every row of one kind the pack owns, however many pages that takes."""
    rows: list[ContentT] = []
    while True:
        page = await repository.list(session, pack_id=pack_id, limit=MAX_LIMIT, offset=len(rows))
        rows.extend(page)
        if len(page) < MAX_LIMIT:
            return rows


def _columns(
    item: ActionDefinition
    | TriggerDefinition
    | RuleDefinition
    | PolicyDefinition
    | SensorDefinition,
) -> dict[str, Any]:
    """A definition's fields, which are named after their columns, less the source file."""
    return {name: value for name, value in asdict(item).items() if name != "file"}


def _changes(row: object, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from the row's."""
    # Compared as JSON: in Python 1 == True == 1.0, but a default of true is not one of 1.
    return {
        name: value
        for name, value in values.items()
        if json.dumps(getattr(row, name), sort_keys=True) != json.dumps(value, sort_keys=True)
    }
