"""Removing a pack: its row and every component go; history stays, naming it by ref.

Executions, enforcements and events keep their refs (their foreign keys are SET NULL).
What would break is refused instead, with the reason: Attune's own pack, a pack whose
actions still run, and a pack whose actions or triggers another pack's rules use.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.packs.definitions import CORE_PACK
from attune.packs.permission_sets import sync_permission_sets
from db.models import Action, Execution, Pack, Policy, Rule, Sensor, Trigger
from db.models.enums import TERMINAL_EXECUTION_STATUSES
from db.repositories import pack as packs

NAMED_AT_MOST = 5  # ids or refs a refusal names; the count says how many more


@dataclass(frozen=True)
class PackRemoval:
    """The pack removed and how many of each component went with it."""

    pack: str
    actions: int
    triggers: int
    rules: int
    policies: int
    sensors: int
    permission_sets: int


async def remove_pack(session: AsyncSession, ref: str) -> PackRemoval:
    """Delete the pack `ref` and its components; flushes, never commits.

    Raises `NotFound` for an unknown pack and `Conflict` (naming what is in the way) for
    the core pack, for executions of its actions not yet ended, and for other packs' rules
    on its actions or triggers.
    """
    pack = await packs.repository.get_by_key(session, ref)
    if ref == CORE_PACK:
        raise errors.Conflict(
            f"pack {ref} is Attune's own and cannot be removed", details={"pack": ref}
        )
    await _refuse_running_executions(session, ref)
    await _refuse_rules_of_other_packs(session, pack)
    counts = {
        name: await _count(session, model, pack.id)
        for name, model in (
            ("actions", Action),
            ("triggers", Trigger),
            ("rules", Rule),
            ("policies", Policy),
            ("sensors", Sensor),
        )
    }
    sets = await sync_permission_sets(session, ref, [])
    # Components go with the row: their pack_id cascades.
    await packs.repository.delete(session, id=pack.id)
    return PackRemoval(pack=ref, permission_sets=len(sets.removed), **counts)


async def _refuse_running_executions(session: AsyncSession, ref: str) -> None:
    running = (
        select(Execution.id)
        .where(Execution.action_ref.startswith(f"{ref}.", autoescape=True))
        .where(Execution.status.not_in(TERMINAL_EXECUTION_STATUSES))
        .order_by(Execution.id)
    )
    ids = list(await session.scalars(running.limit(NAMED_AT_MOST + 1)))
    if ids:
        shown = ", ".join(str(id) for id in ids[:NAMED_AT_MOST])
        more = " and more" if len(ids) > NAMED_AT_MOST else ""
        raise errors.Conflict(
            f"pack {ref} has executions not yet ended ({shown}{more}): wait for them or "
            "cancel them, then remove it",
            details={"pack": ref, "executions": ids[:NAMED_AT_MOST]},
        )


async def _refuse_rules_of_other_packs(session: AsyncSession, pack: Pack) -> None:
    """Another pack's rule on this pack's action or trigger, or its policy on this pack's
    action, would be left pointing at nothing."""
    actions = select(Action.id).where(Action.pack_id == pack.id)
    triggers = select(Trigger.id).where(Trigger.pack_id == pack.id)
    rules = select(Rule.ref).where(
        Rule.pack_id != pack.id, or_(Rule.action_id.in_(actions), Rule.trigger_id.in_(triggers))
    )
    policies = select(Policy.ref).where(Policy.pack_id != pack.id, Policy.action_id.in_(actions))
    refs = sorted(
        [
            *await session.scalars(rules.limit(NAMED_AT_MOST + 1)),
            *await session.scalars(policies.limit(NAMED_AT_MOST + 1)),
        ]
    )
    if refs:
        shown = ", ".join(refs[:NAMED_AT_MOST]) + (" and more" if len(refs) > NAMED_AT_MOST else "")
        raise errors.Conflict(
            f"pack {pack.ref} is used by other packs' rules or policies ({shown}): remove or "
            "change them first",
            details={"pack": pack.ref, "used_by": refs[:NAMED_AT_MOST]},
        )


async def _count(
    session: AsyncSession, model: type[Action | Trigger | Rule | Policy | Sensor], pack_id: int
) -> int:
    counted = select(func.count()).select_from(model).where(model.pack_id == pack_id)
    return int(await session.scalar(counted) or 0)
