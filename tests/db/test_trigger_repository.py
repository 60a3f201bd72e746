"""Trigger repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Trigger
from db.repositories import event, pack, rule, trigger
from tests.db.factories import json_type, make_event, make_pack, make_rule, make_trigger, unique
from tests.db.factories_definitions import tables_emptied

TRIGGER_TYPES = ["webhook", "custom", "timer"]


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    owner = await make_pack(session)
    created = await trigger.repository.create(
        session,
        ref=f"{owner.ref}.push",
        pack_id=owner.id,
        pack_ref=owner.ref,
        name="push",
        label="Push",
        description="A push to a repository",
        trigger_type="webhook",
        payload_schema={"type": "object", "required": ["repo"], "properties": {"repo": {}}},
        webhook_secret="s3cr3t",
        enabled=False,
    )
    read = await trigger.repository.get(session, id=created.id)
    assert read.ref == f"{owner.ref}.push"
    assert read.pack_id == owner.id
    assert read.pack_ref == owner.ref
    assert read.name == "push"
    assert read.label == "Push"
    assert read.description == "A push to a repository"
    assert read.trigger_type == "webhook"
    assert read.payload_schema == {
        "type": "object",
        "required": ["repo"],
        "properties": {"repo": {}},
    }
    assert read.webhook_secret == "s3cr3t"
    assert read.enabled is False


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await make_trigger(session)
    assert created.id > 0
    assert created.label is None
    assert created.description is None
    assert created.trigger_type == "custom"
    assert created.payload_schema == {}
    assert created.webhook_secret is None
    assert created.enabled is True
    assert created.created == created.updated


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await trigger.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"trigger {2**62} not found"):
        await trigger.repository.get(session, id=2**62)
    missing = f"{unique('nope')}.x"
    assert await trigger.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound, match=missing):
        await trigger.repository.get_by_key(session, missing)


async def test_find_by_ref(session: AsyncSession) -> None:
    created = await make_trigger(session)
    assert (await trigger.repository.get_by_key(session, created.ref)).id == created.id


@pytest.mark.parametrize("trigger_type", TRIGGER_TYPES)
async def test_every_trigger_type_round_trips(session: AsyncSession, trigger_type: str) -> None:
    created = await make_trigger(session, trigger_type=trigger_type)
    assert (await trigger.repository.get(session, id=created.id)).trigger_type == trigger_type


@pytest.mark.parametrize("trigger_type", ["cron", "Webhook", "", "timer "])
async def test_unknown_trigger_type_is_a_validation_error(
    session: AsyncSession, trigger_type: str
) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_trigger(session, trigger_type=trigger_type)
    assert raised.value.details["constraint"] == "ck_trigger_trigger_type"


async def test_partial_update_and_update_missing(session: AsyncSession) -> None:
    created = await make_trigger(session, webhook_secret="old", label="Label")
    updated = await trigger.repository.update(
        session, id=created.id, changes={"trigger_type": "timer", "webhook_secret": None}
    )
    assert updated.trigger_type == "timer"
    assert updated.webhook_secret is None
    assert updated.label == "Label"
    with pytest.raises(errors.NotFound):
        await trigger.repository.update(session, id=2**62, changes={"enabled": False})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_trigger(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await trigger.repository.update(session, id=created.id, changes={"enabled": False})
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_trigger(session)
    assert await trigger.repository.delete(session, id=created.id) is True
    assert await trigger.repository.find(session, id=created.id) is None
    assert await trigger.repository.delete(session, id=created.id) is False


async def test_deleting_the_pack_deletes_its_triggers(session: AsyncSession) -> None:
    owner = await make_pack(session)
    owned = await make_trigger(session, owner)
    other = await make_trigger(session)
    await pack.repository.delete(session, id=owner.id)
    assert await trigger.repository.find(session, id=owned.id) is None
    assert await trigger.repository.find(session, id=other.id) is not None


async def test_deleting_a_trigger_keeps_events_and_rules_by_ref(session: AsyncSession) -> None:
    doomed = await make_trigger(session)
    an_event = await make_event(session, doomed, payload={"k": "v"})
    # The rule lives in another pack, so only the SET NULL, not the pack, touches it.
    a_rule = await make_rule(session, on=doomed)
    await trigger.repository.delete(session, id=doomed.id)

    kept_event = await event.repository.get(session, id=an_event.id)
    assert kept_event.trigger_id is None
    assert kept_event.trigger_ref == doomed.ref
    assert kept_event.payload == {"k": "v"}
    kept_rule = await rule.repository.get(session, id=a_rule.id)
    assert kept_rule.trigger_id is None
    assert kept_rule.trigger_ref == doomed.ref


async def test_unknown_pack_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await trigger.repository.create(
            session, ref="ghost.x", pack_id=2**62, pack_ref="ghost", name="x"
        )
    assert raised.value.details["constraint"] == "fk_trigger_pack_id_pack"


async def test_duplicate_ref_is_a_conflict_naming_the_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    created = await make_trigger(session, owner)
    with pytest.raises(errors.Conflict) as raised:
        await make_trigger(session, owner, name=created.name)
    assert created.ref in raised.value.message
    assert raised.value.details["constraint"] == "uq_trigger_ref"


@pytest.mark.parametrize(
    ("pack_ref", "name"),
    [("core", "Push"), ("Core", "push"), ("core", "pu sh"), ("core", ""), ("", "push")],
)
async def test_malformed_ref_is_a_validation_error(
    session: AsyncSession, pack_ref: str, name: str
) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match="lowercase") as raised:
        await make_trigger(session, owner, ref=f"{pack_ref}.{name}", pack_ref=pack_ref, name=name)
    assert raised.value.details["constraint"] == "ck_trigger_ref_format"


async def test_ref_not_made_of_its_parts_is_a_validation_error(session: AsyncSession) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match=r"must equal `pack_ref\.name`") as raised:
        await make_trigger(session, owner, ref=f"{owner.ref}.one", name="other")
    assert raised.value.details["constraint"] == "ck_trigger_ref_parts"


async def test_list_by_pack_filters_and_orders_by_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    for name in ("c", "a", "b"):
        await make_trigger(session, owner, name=name, enabled=name != "a")
    await make_trigger(session)
    listed = await trigger.list_by_pack(session, pack_id=owner.id)
    assert [t.ref for t in listed] == [f"{owner.ref}.a", f"{owner.ref}.b", f"{owner.ref}.c"]
    assert [t.name for t in await trigger.list_by_pack(session, pack_id=owner.id, limit=1)] == ["a"]


async def test_list_by_pack_empty(session: AsyncSession) -> None:
    empty = await make_pack(session)
    await make_trigger(session)
    assert await trigger.list_by_pack(session, pack_id=empty.id) == []


async def test_list_by_type_filters_and_orders_by_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    for name in ("c", "a", "b"):
        await make_trigger(session, owner, name=name, trigger_type="timer")
    webhook = await make_trigger(session, owner, name="w", trigger_type="webhook")
    timers = await trigger.list_by_type(session, trigger_type="timer", limit=1000)
    assert [t.name for t in timers if t.pack_id == owner.id] == ["a", "b", "c"]
    assert all(t.trigger_type == "timer" for t in timers)
    assert [t.ref for t in timers] == sorted(t.ref for t in timers)
    webhooks = await trigger.list_by_type(session, trigger_type="webhook", limit=1000)
    assert [t.id for t in webhooks if t.pack_id == owner.id] == [webhook.id]
    assert len(await trigger.list_by_type(session, trigger_type="timer", limit=2)) == 2


async def test_list_by_type_empty(session: AsyncSession) -> None:
    await make_trigger(session, trigger_type="timer")
    assert await trigger.list_by_type(session, trigger_type="no-such-type") == []
    async with tables_emptied(session, Trigger):
        assert await trigger.list_by_type(session, trigger_type="timer") == []


@pytest.mark.parametrize("limit", [0, 1001])
async def test_specialized_lists_refuse_unbounded_limits(session: AsyncSession, limit: int) -> None:
    with pytest.raises(errors.ValidationError, match="limit"):
        await trigger.list_by_pack(session, pack_id=1, limit=limit)
    with pytest.raises(errors.ValidationError, match="limit"):
        await trigger.list_by_type(session, trigger_type="custom", limit=limit)


async def test_payload_schema_empty_and_nested(session: AsyncSession) -> None:
    nested = {"properties": {"a": {"items": [{"b": None}, True, 1.5]}}, "null": None}
    empty = await make_trigger(session, payload_schema={})
    deep = await make_trigger(session, payload_schema=nested)
    assert (await trigger.repository.get(session, id=empty.id)).payload_schema == {}
    assert await json_type(session, Trigger.payload_schema, empty.id) == "object"
    assert (await trigger.repository.get(session, id=deep.id)).payload_schema == nested


async def test_long_and_special_text_round_trips(session: AsyncSession) -> None:
    name = unique("long") + "_" * 3000
    secret = "ß€cr€t 🚀 'q' \"d\" \\ ; DROP TABLE trigger; --" * 50
    created = await make_trigger(session, name=name, webhook_secret=secret)
    read = await trigger.repository.get_by_key(session, created.ref)
    assert read.name == name
    assert read.webhook_secret == secret
