"""Event repository against the real PostgreSQL: history of trigger occurrences."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import null
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Event
from db.repositories import enforcement, event, sensor, trigger
from tests.db.factories import (
    json_type,
    make_enforcement,
    make_event,
    make_sensor,
    make_trigger,
    unique,
)
from tests.db.factories_history import ids, newest_first, walk_back


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    a_trigger = await make_trigger(session)
    a_sensor = await make_sensor(session)
    payload = {"host": "web-1", "nested": {"list": [1, "two", {"deep": None}], "ok": True}}
    created = await event.repository.create(
        session,
        trigger_id=a_trigger.id,
        trigger_ref=a_trigger.ref,
        payload=payload,
        source_sensor_id=a_sensor.id,
    )
    read = await event.repository.get(session, id=created.id)
    assert read.trigger_id == a_trigger.id
    assert read.trigger_ref == a_trigger.ref
    assert read.payload == payload
    assert read.source_sensor_id == a_sensor.id


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await event.repository.create(session, trigger_ref="webhook.gone")
    assert created.id > 0
    assert created.trigger_id is None
    assert created.trigger_ref == "webhook.gone"
    assert created.payload == {}
    assert await json_type(session, Event.payload, created.id) == "object"
    assert created.source_sensor_id is None
    assert created.created == created.updated


async def test_find_get_update_delete_missing(session: AsyncSession) -> None:
    assert await event.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"event {2**62} not found"):
        await event.repository.get(session, id=2**62)
    with pytest.raises(errors.NotFound):
        await event.repository.update(session, id=2**62, changes={"payload": {}})
    assert await event.repository.delete(session, id=2**62) is False


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_event(session)
    assert await event.repository.delete(session, id=created.id) is True
    assert await event.repository.find(session, id=created.id) is None
    assert await event.repository.delete(session, id=created.id) is False


async def test_update_replaces_payload_and_advances_updated(session: AsyncSession) -> None:
    created = await make_event(session, payload={"old": 1})
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await event.repository.update(
        session, id=created.id, changes={"payload": {"new": [1, 2]}}
    )
    assert updated.payload == {"new": [1, 2]}
    assert updated.trigger_ref == created.trigger_ref
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_list_by_trigger_is_newest_first_and_pages_back(session: AsyncSession) -> None:
    a_trigger = await make_trigger(session)
    other = await make_event(session)  # another trigger's event, in between
    ours = [await make_event(session, on=a_trigger, payload={"n": n}) for n in range(5)]
    listed = await event.list_by_trigger(session, trigger_id=a_trigger.id)
    assert ids(listed) == newest_first(ours)
    assert other.id not in ids(listed)
    assert listed[0].payload == {"n": 4}

    walked = await walk_back(
        lambda before: event.list_by_trigger(
            session, trigger_id=a_trigger.id, limit=2, before_id=before
        )
    )
    assert walked == newest_first(ours)

    newest = ours[-1].id
    older = await event.list_by_trigger(session, trigger_id=a_trigger.id, before_id=newest)
    assert ids(older) == newest_first(ours[:-1])


async def test_list_by_trigger_empty_and_bounded(session: AsyncSession) -> None:
    quiet = await make_trigger(session)
    assert await event.list_by_trigger(session, trigger_id=quiet.id) == []
    assert await event.list_by_trigger(session, trigger_id=2**62) == []
    with pytest.raises(errors.ValidationError, match="limit"):
        await event.list_by_trigger(session, trigger_id=quiet.id, limit=0)


async def test_list_by_trigger_ref_is_newest_first_and_pages_back(session: AsyncSession) -> None:
    a_trigger = await make_trigger(session)
    await make_event(session)
    ours = [await make_event(session, on=a_trigger) for _ in range(3)]
    # Events recorded after the trigger is gone keep only its ref.
    ours.append(await event.repository.create(session, trigger_ref=a_trigger.ref))
    listed = await event.list_by_trigger_ref(session, trigger_ref=a_trigger.ref)
    assert ids(listed) == newest_first(ours)
    walked = await walk_back(
        lambda before: event.list_by_trigger_ref(
            session, trigger_ref=a_trigger.ref, limit=3, before_id=before
        )
    )
    assert walked == newest_first(ours)
    assert await event.list_by_trigger_ref(session, trigger_ref=unique("none.x")) == []
    with pytest.raises(errors.ValidationError, match="limit"):
        await event.list_by_trigger_ref(session, trigger_ref=a_trigger.ref, limit=1001)


async def test_deleting_the_trigger_keeps_the_event_and_its_ref(session: AsyncSession) -> None:
    a_trigger = await make_trigger(session)
    created = await make_event(session, on=a_trigger)
    assert await trigger.repository.delete(session, id=a_trigger.id) is True
    kept = await event.repository.get(session, id=created.id)
    assert kept.trigger_id is None
    assert kept.trigger_ref == a_trigger.ref
    assert ids(await event.list_by_trigger_ref(session, trigger_ref=a_trigger.ref)) == [kept.id]
    assert await event.list_by_trigger(session, trigger_id=a_trigger.id) == []


async def test_deleting_the_source_sensor_keeps_the_event(session: AsyncSession) -> None:
    a_sensor = await make_sensor(session)
    created = await make_event(session, source_sensor_id=a_sensor.id)
    assert await sensor.repository.delete(session, id=a_sensor.id) is True
    kept = await event.repository.get(session, id=created.id)
    assert kept.source_sensor_id is None
    assert kept.trigger_id is not None


async def test_deleting_an_event_keeps_its_enforcements(session: AsyncSession) -> None:
    created = await make_event(session)
    an_enforcement = await make_enforcement(session, of=created)
    assert await event.repository.delete(session, id=created.id) is True
    kept = await enforcement.repository.get(session, id=an_enforcement.id)
    assert kept.event_id is None
    assert kept.trigger_ref == an_enforcement.trigger_ref


@pytest.mark.parametrize(
    ("field", "constraint"),
    [
        ("trigger_id", "fk_event_trigger_id_trigger"),
        ("source_sensor_id", "fk_event_source_sensor_id_sensor"),
    ],
)
async def test_unknown_reference_is_a_validation_error(
    session: AsyncSession, field: str, constraint: str
) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await event.repository.create(session, trigger_ref="x.y", **{field: 2**63 - 1})
    assert raised.value.details["constraint"] == constraint
    assert str(2**63 - 1) in raised.value.message


async def test_id_beyond_bigint_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="trigger_id must be between"):
        await event.repository.create(session, trigger_ref="x.y", trigger_id=2**63)


async def test_missing_trigger_ref_names_it(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="trigger_ref is required") as raised:
        await event.repository.create(session, payload={})
    assert raised.value.details == {"field": "trigger_ref"}


async def test_payload_sql_null_is_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="payload is required"):
        await make_event(session, payload=null())


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"a": {"b": {"c": {"d": [1, 2.5, None, True, "é"]}}}},
        {"quote": "'\"\\", "null": None, "": "empty key", "emoji": "🚀"},
    ],
)
async def test_payload_json_round_trips(session: AsyncSession, payload: dict[str, object]) -> None:
    created = await make_event(session, payload=payload)
    read = await event.repository.get(session, id=created.id)
    assert read.payload == payload
    assert await json_type(session, Event.payload, created.id) == "object"


async def test_very_long_ref_and_special_characters_round_trip(session: AsyncSession) -> None:
    long_ref = unique("long") + "." + "x" * 10_000
    special = "Ünïcödé 🚀 'quotes' \"double\" \\ back; DROP TABLE event; --"
    first = await event.repository.create(session, trigger_ref=long_ref, payload={"s": special})
    second = await event.repository.create(session, trigger_ref=special)
    assert (await event.repository.get(session, id=first.id)).trigger_ref == long_ref
    assert (await event.repository.get(session, id=first.id)).payload == {"s": special}
    by_ref = await event.list_by_trigger_ref(session, trigger_ref=special)
    assert second.id in ids(by_ref)
    assert all(found.trigger_ref == special for found in by_ref)
