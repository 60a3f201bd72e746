"""Rule repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Rule
from db.repositories import action, enforcement, pack, rule, trigger
from tests.db.factories import (
    json_type,
    make_action,
    make_enforcement,
    make_pack,
    make_rule,
    make_trigger,
    unique,
)


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    owner = await make_pack(session)
    on = await make_trigger(session, owner)
    runs = await make_action(session, owner)
    created = await rule.repository.create(
        session,
        ref=f"{owner.ref}.notify",
        pack_id=owner.id,
        pack_ref=owner.ref,
        name="notify",
        label="Notify",
        description="Notifies on push",
        trigger_id=on.id,
        trigger_ref=on.ref,
        action_id=runs.id,
        action_ref=runs.ref,
        criteria={"trigger.branch": {"type": "equals", "pattern": "main"}},
        action_parameters={"message": "{{ trigger.repo }} pushed", "retries": 3},
        enabled=False,
    )
    read = await rule.repository.get(session, id=created.id)
    assert read.ref == f"{owner.ref}.notify"
    assert read.pack_id == owner.id
    assert read.pack_ref == owner.ref
    assert read.name == "notify"
    assert read.label == "Notify"
    assert read.description == "Notifies on push"
    assert (read.trigger_id, read.trigger_ref) == (on.id, on.ref)
    assert (read.action_id, read.action_ref) == (runs.id, runs.ref)
    assert read.criteria == {"trigger.branch": {"type": "equals", "pattern": "main"}}
    assert read.action_parameters == {"message": "{{ trigger.repo }} pushed", "retries": 3}
    assert read.enabled is False


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    owner = await make_pack(session)
    # Only refs: the trigger and action may not be installed yet.
    created = await rule.repository.create(
        session,
        ref=f"{owner.ref}.bare",
        pack_id=owner.id,
        pack_ref=owner.ref,
        name="bare",
        trigger_ref="other.trigger",
        action_ref="other.action",
    )
    assert created.id > 0
    assert created.label is None
    assert created.description is None
    assert created.trigger_id is None
    assert created.action_id is None
    assert created.criteria == {}
    assert created.action_parameters == {}
    assert created.enabled is True
    assert created.created == created.updated


async def test_missing_action_ref_is_named(session: AsyncSession) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match="action_ref is required"):
        await rule.repository.create(
            session,
            ref=f"{owner.ref}.x",
            pack_id=owner.id,
            pack_ref=owner.ref,
            name="x",
            trigger_ref="a.b",
        )


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await rule.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"rule {2**62} not found"):
        await rule.repository.get(session, id=2**62)
    missing = f"{unique('nope')}.x"
    assert await rule.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound, match=missing):
        await rule.repository.get_by_key(session, missing)


async def test_find_by_ref(session: AsyncSession) -> None:
    created = await make_rule(session)
    assert (await rule.repository.get_by_key(session, created.ref)).id == created.id


async def test_partial_update_and_update_missing(session: AsyncSession) -> None:
    created = await make_rule(session, criteria={"a": 1}, label="Label")
    updated = await rule.repository.update(
        session, id=created.id, changes={"enabled": False, "criteria": {}}
    )
    assert updated.enabled is False
    assert updated.criteria == {}
    assert updated.label == "Label"
    assert updated.trigger_ref == created.trigger_ref
    with pytest.raises(errors.NotFound):
        await rule.repository.update(session, id=2**62, changes={"enabled": False})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_rule(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await rule.repository.update(session, id=created.id, changes={"enabled": False})
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_rule(session)
    assert await rule.repository.delete(session, id=created.id) is True
    assert await rule.repository.find(session, id=created.id) is None
    assert await rule.repository.delete(session, id=created.id) is False


async def test_deleting_the_pack_deletes_its_rules(session: AsyncSession) -> None:
    on = await make_trigger(session)
    owned = await make_rule(session, on=on)
    other = await make_rule(session)
    await pack.repository.delete(session, id=on.pack_id)
    assert await rule.repository.find(session, id=owned.id) is None
    assert await rule.repository.find(session, id=other.id) is not None


async def test_deleting_a_rule_keeps_its_enforcements_by_ref(session: AsyncSession) -> None:
    doomed = await make_rule(session)
    an_enforcement = await make_enforcement(session, by=doomed)
    await rule.repository.delete(session, id=doomed.id)
    kept = await enforcement.repository.get(session, id=an_enforcement.id)
    assert kept.rule_id is None
    assert kept.rule_ref == doomed.ref
    assert kept.trigger_ref == doomed.trigger_ref


async def test_rule_outlives_its_trigger_and_action_by_ref(session: AsyncSession) -> None:
    created = await make_rule(session)
    assert created.trigger_id is not None
    assert created.action_id is not None
    await trigger.repository.delete(session, id=created.trigger_id)
    await action.repository.delete(session, id=created.action_id)
    kept = await rule.repository.get(session, id=created.id)
    assert kept.trigger_id is None
    assert kept.action_id is None
    assert kept.trigger_ref == created.trigger_ref
    assert kept.action_ref == created.action_ref


@pytest.mark.parametrize(
    ("field", "constraint"),
    [("trigger_id", "fk_rule_trigger_id_trigger"), ("action_id", "fk_rule_action_id_action")],
)
async def test_unknown_trigger_or_action_is_a_validation_error(
    session: AsyncSession, field: str, constraint: str
) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_rule(session, **dict[str, Any]({field: 2**62}))
    assert raised.value.details["constraint"] == constraint


async def test_duplicate_ref_is_a_conflict_naming_the_ref(session: AsyncSession) -> None:
    on = await make_trigger(session)
    created = await make_rule(session, on=on)
    with pytest.raises(errors.Conflict) as raised:
        await make_rule(session, on=on, name=created.name)
    assert created.ref in raised.value.message
    assert raised.value.details["constraint"] == "uq_rule_ref"


@pytest.mark.parametrize(
    ("pack_ref", "name"),
    [("core", "Rule"), ("Core", "rule"), ("core", "ru le"), ("core", ""), ("", "rule")],
)
async def test_malformed_ref_is_a_validation_error(
    session: AsyncSession, pack_ref: str, name: str
) -> None:
    with pytest.raises(errors.ValidationError, match="lowercase") as raised:
        await make_rule(session, ref=f"{pack_ref}.{name}", pack_ref=pack_ref, name=name)
    assert raised.value.details["constraint"] == "ck_rule_ref_format"


async def test_ref_not_made_of_its_parts_is_a_validation_error(session: AsyncSession) -> None:
    on = await make_trigger(session)
    with pytest.raises(errors.ValidationError, match=r"must equal `pack_ref\.name`") as raised:
        await make_rule(session, on=on, ref=f"{on.pack_ref}.one", name="other")
    assert raised.value.details["constraint"] == "ck_rule_ref_parts"


async def test_list_by_trigger_filters_and_orders_by_ref(session: AsyncSession) -> None:
    on = await make_trigger(session)
    for name in ("c", "a", "b"):
        await make_rule(session, on=on, name=name, enabled=name != "b")
    await make_rule(session)
    listed = await rule.list_by_trigger(session, trigger_id=on.id)
    assert [r.ref for r in listed] == [f"{on.pack_ref}.a", f"{on.pack_ref}.b", f"{on.pack_ref}.c"]
    limited = await rule.list_by_trigger(session, trigger_id=on.id, limit=2)
    assert [r.name for r in limited] == ["a", "b"]


async def test_list_by_trigger_empty(session: AsyncSession) -> None:
    unused = await make_trigger(session)
    await make_rule(session)
    assert await rule.list_by_trigger(session, trigger_id=unused.id) == []


async def test_list_enabled_for_trigger_ref_keeps_enabled_rules_by_ref(
    session: AsyncSession,
) -> None:
    on = await make_trigger(session)
    owner = await pack.repository.get(session, id=on.pack_id)
    for name in ("c", "a"):
        await make_rule(session, on=on, name=name)
    await make_rule(session, on=on, name="b", enabled=False)
    # Matched by ref alone: a rule whose trigger is not linked by id yet still counts.
    await make_rule(session, on=on, name="d", trigger_id=None)
    await make_rule(session, name="e")  # another trigger
    listed = await rule.list_enabled_for_trigger_ref(session, trigger_ref=on.ref)
    assert [r.ref for r in listed] == [f"{owner.ref}.a", f"{owner.ref}.c", f"{owner.ref}.d"]
    assert all(r.enabled and r.trigger_ref == on.ref for r in listed)
    limited = await rule.list_enabled_for_trigger_ref(session, trigger_ref=on.ref, limit=1)
    assert [r.name for r in limited] == ["a"]


async def test_list_enabled_for_trigger_ref_empty(session: AsyncSession) -> None:
    on = await make_trigger(session)
    await make_rule(session, on=on, enabled=False)
    assert await rule.list_enabled_for_trigger_ref(session, trigger_ref=on.ref) == []
    unused = f"{unique('unused')}.x"
    assert await rule.list_enabled_for_trigger_ref(session, trigger_ref=unused) == []


async def test_list_by_action_filters_and_orders_by_ref(session: AsyncSession) -> None:
    runs = await make_action(session)
    on = await make_trigger(session)
    for name in ("b", "c", "a"):
        await make_rule(session, on=on, runs=runs, name=name, enabled=name != "a")
    await make_rule(session, on=on)
    listed = await rule.list_by_action(session, action_id=runs.id)
    assert [r.ref for r in listed] == [f"{on.pack_ref}.a", f"{on.pack_ref}.b", f"{on.pack_ref}.c"]
    assert all(r.action_ref == runs.ref for r in listed)
    limited = await rule.list_by_action(session, action_id=runs.id, limit=1)
    assert [r.name for r in limited] == ["a"]


async def test_list_by_action_empty(session: AsyncSession) -> None:
    unused = await make_action(session)
    await make_rule(session)
    assert await rule.list_by_action(session, action_id=unused.id) == []


@pytest.mark.parametrize("limit", [0, 1001])
async def test_specialized_lists_refuse_unbounded_limits(session: AsyncSession, limit: int) -> None:
    with pytest.raises(errors.ValidationError, match="limit"):
        await rule.list_by_trigger(session, trigger_id=1, limit=limit)
    with pytest.raises(errors.ValidationError, match="limit"):
        await rule.list_enabled_for_trigger_ref(session, trigger_ref="a.b", limit=limit)
    with pytest.raises(errors.ValidationError, match="limit"):
        await rule.list_by_action(session, action_id=1, limit=limit)


async def test_json_fields_empty_and_nested(session: AsyncSession) -> None:
    criteria: dict[str, Any] = {
        "trigger.body.items[0]": {"type": "in", "pattern": [1, None, "x", {"y": []}]}
    }
    parameters: dict[str, Any] = {"deep": {"deeper": {"deepest": [True, 2.5, None]}}, "none": None}
    empty = await make_rule(session)
    deep = await make_rule(session, criteria=criteria, action_parameters=parameters)
    assert await json_type(session, Rule.criteria, empty.id) == "object"
    assert await json_type(session, Rule.action_parameters, empty.id) == "object"
    read = await rule.repository.get(session, id=deep.id)
    assert read.criteria == criteria
    assert read.action_parameters == parameters


async def test_long_and_special_text_round_trips(session: AsyncSession) -> None:
    name = unique("long") + "-" * 3000
    description = "Ünïcödé 🚀 'q' \"d\" \\ ; DROP TABLE rule; --\n"
    template = {"message": "{{ trigger.x | default('ü') }} \\u0000 \\n 'quoted' \"double\""}
    created = await make_rule(
        session, name=name, description=description, action_parameters=template
    )
    read = await rule.repository.get_by_key(session, created.ref)
    assert read.name == name
    assert read.description == description
    assert read.action_parameters == template


async def test_nul_character_in_json_is_a_validation_error(session: AsyncSession) -> None:
    # PostgreSQL's jsonb has no place for U+0000: the user gets a domain error, not a crash.
    with pytest.raises(errors.ValidationError, match="invalid rule"):
        await make_rule(session, criteria={"x": "a\x00b"})
