"""Permission sets a pack ships: `permission_sets/NAME.yaml`, registered as `<pack>.NAME`.

    # deploy/permission_sets/runner.yaml
    description: Runs the deploy pack's actions and sees their executions.
    grants:
      - {resource: pack, verbs: [view, execute], refs: [deploy]}

A set registered with its pack is the pack's: registering the pack again makes its sets
exactly those its folder holds (one removed from the folder is deleted, and so are its
assignments). Grants are checked as the API checks them (`attune.auth.permissions`), each
problem named by file and field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.auth.permissions import parse_grants
from attune.packs.components import COMMON_FIELDS, component_name
from attune.packs.definitions import PermissionSetDefinition
from attune.packs.fields import Fields
from attune.packs.problems import Problems
from db.models import PermissionSet
from db.repositories import permission_set

KIND = "permission_sets"
FIELDS = (*COMMON_FIELDS, "grants")


def load_permission_set(
    file: str, data: Mapping[str, Any], problems: Problems
) -> PermissionSetDefinition | None:
    """The permission set in `data` (read from `file`), or None when it has problems."""
    before = problems.count
    fields = Fields(file, data, problems, allowed=FIELDS)
    name = component_name(fields)
    raw = data.get("grants")
    grants: list[dict[str, Any]] = []
    if raw is None:
        fields.problem("grants", "required: a list of {resource, verbs, packs?, refs?}")
    else:
        try:
            grants = [grant.to_json() for grant in parse_grants(raw)]
        except errors.ValidationError as refused:
            field = str(refused.details.get("field", "grants"))
            fields.problem(field, refused.message.removeprefix(f"{field}: "))
    definition = PermissionSetDefinition(
        file=file,
        name=name or "",
        grants=tuple(grants),
        label=fields.text("label"),
        description=fields.text("description"),
    )
    return definition if problems.count == before else None


async def sync_permission_sets(
    session: AsyncSession, pack_ref: str, definitions: Sequence[PermissionSetDefinition]
) -> SetChanges:
    """Make the pack's permission sets exactly `definitions`."""
    prefix = f"{pack_ref}."
    existing = {
        row.ref: row
        for row in await session.scalars(
            select(PermissionSet).where(PermissionSet.ref.startswith(prefix, autoescape=True))
        )
    }
    changes = SetChanges()
    for definition in definitions:
        ref = prefix + definition.name
        values = {
            "label": definition.label,
            "description": definition.description,
            "grants": list(definition.grants),
        }
        row = existing.pop(ref, None)
        if row is None:
            await permission_set.repository.create(session, ref=ref, **values)
            changes.created.append(ref)
        elif any(getattr(row, name) != value for name, value in values.items()):
            await permission_set.repository.update(session, id=row.id, changes=values)
            changes.updated.append(ref)
        else:
            changes.unchanged.append(ref)
    for ref in sorted(existing):
        await permission_set.repository.delete(session, id=existing[ref].id)
        changes.removed.append(ref)
    return changes


@dataclass
class SetChanges:
    """The refs of the pack's permission sets, by what registering did to them."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
