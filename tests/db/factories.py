"""Records in a line each, with unique refs so tests run in parallel and in any order.

Tests flush and never commit: the `session` fixture rolls everything back at the end.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from db.models import (
    Action,
    Enforcement,
    Event,
    Execution,
    Identity,
    Pack,
    Rule,
    Runtime,
    RuntimeType,
    Sensor,
    Trigger,
)
from db.repositories import (
    action,
    enforcement,
    event,
    execution,
    identity,
    pack,
    rule,
    runtime,
    sensor,
    trigger,
)


def unique(prefix: str = "t") -> str:
    """A lowercase name no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


async def make_pack(session: AsyncSession, **values: Any) -> Pack:
    fields: dict[str, Any] = {"ref": unique("pack"), "label": "Test pack", "version": "1.0.0"}
    return await pack.repository.create(session, **(fields | values))


def _content(owner: Pack, name: str | None) -> dict[str, Any]:
    """ref, pack_id, pack_ref and name of a pack's content, consistent with each other."""
    name = name or unique("n")
    return {"ref": f"{owner.ref}.{name}", "pack_id": owner.id, "pack_ref": owner.ref, "name": name}


async def make_action(
    session: AsyncSession, owner: Pack | None = None, name: str | None = None, **values: Any
) -> Action:
    owner = owner or await make_pack(session)
    fields = _content(owner, name) | {"runner_type": "noop"}
    return await action.repository.create(session, **(fields | values))


async def make_trigger(
    session: AsyncSession, owner: Pack | None = None, name: str | None = None, **values: Any
) -> Trigger:
    owner = owner or await make_pack(session)
    return await trigger.repository.create(session, **(_content(owner, name) | values))


async def make_runtime(session: AsyncSession, **values: Any) -> Runtime:
    fields: dict[str, Any] = {
        "ref": f"{unique('rt')}.action.{unique('r')}",
        "runtime_type": RuntimeType.ACTION,
    }
    return await runtime.repository.create(session, **(fields | values))


async def make_sensor(
    session: AsyncSession, owner: Pack | None = None, name: str | None = None, **values: Any
) -> Sensor:
    owner = owner or await make_pack(session)
    fields = _content(owner, name) | {"entry_point": "sensors/poll.py"}
    return await sensor.repository.create(session, **(fields | values))


async def make_rule(
    session: AsyncSession,
    on: Trigger | None = None,
    runs: Action | None = None,
    name: str | None = None,
    **values: Any,
) -> Rule:
    on = on or await make_trigger(session)
    runs = runs or await make_action(session)
    owner = await pack.repository.get(session, id=on.pack_id)
    fields = _content(owner, name) | {
        "trigger_id": on.id,
        "trigger_ref": on.ref,
        "action_id": runs.id,
        "action_ref": runs.ref,
    }
    return await rule.repository.create(session, **(fields | values))


async def make_event(session: AsyncSession, on: Trigger | None = None, **values: Any) -> Event:
    on = on or await make_trigger(session)
    fields: dict[str, Any] = {"trigger_id": on.id, "trigger_ref": on.ref, "payload": {}}
    return await event.repository.create(session, **(fields | values))


async def make_enforcement(
    session: AsyncSession, by: Rule | None = None, of: Event | None = None, **values: Any
) -> Enforcement:
    by = by or await make_rule(session)
    of = of or await make_event(session)
    fields: dict[str, Any] = {
        "rule_id": by.id,
        "rule_ref": by.ref,
        "event_id": of.id,
        "trigger_ref": by.trigger_ref,
    }
    return await enforcement.repository.create(session, **(fields | values))


async def make_execution(
    session: AsyncSession, of: Action | None = None, **values: Any
) -> Execution:
    of = of or await make_action(session)
    fields: dict[str, Any] = {"action_id": of.id, "action_ref": of.ref}
    return await execution.repository.create(session, **(fields | values))


async def make_identity(session: AsyncSession, **values: Any) -> Identity:
    return await identity.repository.create(session, **({"login": unique("user")} | values))


async def json_type(
    session: AsyncSession, column: InstrumentedAttribute[Any], record_id: int
) -> str | None:
    """`jsonb_typeof` of a stored value: 'null' for JSON null, None for SQL NULL."""
    model = column.class_
    query = select(func.jsonb_typeof(column)).where(model.id == record_id)
    result: str | None = await session.scalar(query)
    return result
