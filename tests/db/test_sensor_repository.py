"""Sensor repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Sensor
from db.repositories import event, pack, runtime, sensor
from tests.db.factories import json_type, make_event, make_pack, make_runtime, make_sensor, unique


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    owner = await make_pack(session)
    a_runtime = await make_runtime(session, ref=f"{owner.ref}.sensor.python")
    created = await sensor.repository.create(
        session,
        ref=f"{owner.ref}.poller",
        pack_id=owner.id,
        pack_ref=owner.ref,
        name="poller",
        label="Poller",
        description="Polls a queue",
        entry_point="sensors/poller.py",
        runtime_id=a_runtime.id,
        trigger_refs=[f"{owner.ref}.message", "core.timer"],
        config={"queue": "jobs", "backoff": {"initial": 1, "max": 60}},
        poll_interval_seconds=30,
        enabled=False,
    )
    read = await sensor.repository.get(session, id=created.id)
    assert read.ref == f"{owner.ref}.poller"
    assert read.pack_id == owner.id
    assert read.pack_ref == owner.ref
    assert read.name == "poller"
    assert read.label == "Poller"
    assert read.description == "Polls a queue"
    assert read.entry_point == "sensors/poller.py"
    assert read.runtime_id == a_runtime.id
    assert read.trigger_refs == [f"{owner.ref}.message", "core.timer"]
    assert read.config == {"queue": "jobs", "backoff": {"initial": 1, "max": 60}}
    assert read.poll_interval_seconds == 30
    assert read.enabled is False


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await make_sensor(session)
    assert created.id > 0
    assert created.label is None
    assert created.description is None
    assert created.runtime_id is None
    assert created.trigger_refs == []
    assert created.config == {}
    assert created.poll_interval_seconds is None
    assert created.enabled is True
    assert created.created == created.updated


async def test_missing_entry_point_is_named(session: AsyncSession) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match="entry_point is required"):
        await sensor.repository.create(
            session, ref=f"{owner.ref}.x", pack_id=owner.id, pack_ref=owner.ref, name="x"
        )


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await sensor.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"sensor {2**62} not found"):
        await sensor.repository.get(session, id=2**62)
    missing = f"{unique('nope')}.x"
    assert await sensor.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound, match=missing):
        await sensor.repository.get_by_key(session, missing)


async def test_find_by_ref(session: AsyncSession) -> None:
    created = await make_sensor(session)
    assert (await sensor.repository.get_by_key(session, created.ref)).id == created.id


async def test_partial_update_and_update_missing(session: AsyncSession) -> None:
    created = await make_sensor(session, trigger_refs=["a.b"], config={"k": 1})
    updated = await sensor.repository.update(
        session, id=created.id, changes={"trigger_refs": [], "poll_interval_seconds": 5}
    )
    assert updated.trigger_refs == []
    assert updated.poll_interval_seconds == 5
    assert updated.config == {"k": 1}
    assert updated.entry_point == "sensors/poll.py"
    with pytest.raises(errors.NotFound):
        await sensor.repository.update(session, id=2**62, changes={"enabled": False})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_sensor(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await sensor.repository.update(session, id=created.id, changes={"enabled": False})
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_sensor(session)
    assert await sensor.repository.delete(session, id=created.id) is True
    assert await sensor.repository.find(session, id=created.id) is None
    assert await sensor.repository.delete(session, id=created.id) is False


async def test_deleting_the_pack_deletes_its_sensors(session: AsyncSession) -> None:
    owner = await make_pack(session)
    owned = await make_sensor(session, owner)
    other = await make_sensor(session)
    await pack.repository.delete(session, id=owner.id)
    assert await sensor.repository.find(session, id=owned.id) is None
    assert await sensor.repository.find(session, id=other.id) is not None


async def test_deleting_its_runtime_keeps_the_sensor(session: AsyncSession) -> None:
    a_runtime = await make_runtime(session)
    created = await make_sensor(session, runtime_id=a_runtime.id)
    await runtime.repository.delete(session, id=a_runtime.id)
    kept = await sensor.repository.get(session, id=created.id)
    assert kept.runtime_id is None
    assert kept.entry_point == "sensors/poll.py"


async def test_deleting_a_sensor_keeps_its_events(session: AsyncSession) -> None:
    doomed = await make_sensor(session)
    an_event = await make_event(session, source_sensor_id=doomed.id)
    await sensor.repository.delete(session, id=doomed.id)
    kept = await event.repository.get(session, id=an_event.id)
    assert kept.source_sensor_id is None
    assert kept.trigger_id is not None


async def test_unknown_runtime_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_sensor(session, runtime_id=2**62)
    assert raised.value.details["constraint"] == "fk_sensor_runtime_id_runtime"


async def test_duplicate_ref_is_a_conflict_naming_the_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    created = await make_sensor(session, owner)
    with pytest.raises(errors.Conflict) as raised:
        await make_sensor(session, owner, name=created.name)
    assert created.ref in raised.value.message
    assert raised.value.details["constraint"] == "uq_sensor_ref"


@pytest.mark.parametrize(
    ("pack_ref", "name"),
    [("core", "Poll"), ("Core", "poll"), ("core", "po ll"), ("core", ""), ("", "poll")],
)
async def test_malformed_ref_is_a_validation_error(
    session: AsyncSession, pack_ref: str, name: str
) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match="lowercase") as raised:
        await make_sensor(session, owner, ref=f"{pack_ref}.{name}", pack_ref=pack_ref, name=name)
    assert raised.value.details["constraint"] == "ck_sensor_ref_format"


async def test_ref_not_made_of_its_parts_is_a_validation_error(session: AsyncSession) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match=r"must equal `pack_ref\.name`") as raised:
        await make_sensor(session, owner, ref=f"{owner.ref}.one", name="other")
    assert raised.value.details["constraint"] == "ck_sensor_ref_parts"


@pytest.mark.parametrize("interval", [0, -1])
async def test_non_positive_poll_interval_is_a_validation_error(
    session: AsyncSession, interval: int
) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_sensor(session, poll_interval_seconds=interval)
    assert raised.value.details["constraint"] == "ck_sensor_poll_interval_positive"


async def test_poll_interval_integer_limits(session: AsyncSession) -> None:
    created = await make_sensor(session, poll_interval_seconds=2**31 - 1)
    assert (await sensor.repository.get(session, id=created.id)).poll_interval_seconds == 2**31 - 1
    with pytest.raises(errors.ValidationError):
        await make_sensor(session, poll_interval_seconds=2**31)


async def test_list_by_pack_filters_and_orders_by_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    for name in ("c", "a", "b"):
        await make_sensor(session, owner, name=name, enabled=name != "c")
    await make_sensor(session)
    listed = await sensor.list_by_pack(session, pack_id=owner.id)
    assert [s.ref for s in listed] == [f"{owner.ref}.a", f"{owner.ref}.b", f"{owner.ref}.c"]
    assert [s.name for s in await sensor.list_by_pack(session, pack_id=owner.id, limit=2)] == [
        "a",
        "b",
    ]


async def test_list_by_pack_empty(session: AsyncSession) -> None:
    empty = await make_pack(session)
    await make_sensor(session)
    assert await sensor.list_by_pack(session, pack_id=empty.id) == []


async def test_list_for_trigger_matches_array_members_by_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    wanted = f"{owner.ref}.tick"
    await make_sensor(session, owner, name="c", trigger_refs=[wanted])
    await make_sensor(session, owner, name="a", trigger_refs=["x.y", wanted, "z.w"])
    await make_sensor(session, owner, name="b", trigger_refs=[wanted], enabled=False)
    # Near misses: a ref that extends the wanted one, a prefix of it, and no refs at all.
    await make_sensor(session, owner, name="d", trigger_refs=[f"{wanted}2", wanted[:-1]])
    await make_sensor(session, owner, name="e")
    listed = await sensor.list_for_trigger(session, trigger_ref=wanted)
    assert [s.name for s in listed] == ["a", "b", "c"]
    limited = await sensor.list_for_trigger(session, trigger_ref=wanted, limit=1)
    assert [s.name for s in limited] == ["a"]


async def test_list_for_trigger_empty(session: AsyncSession) -> None:
    await make_sensor(session, trigger_refs=["core.used"])
    assert await sensor.list_for_trigger(session, trigger_ref=f"{unique('unused')}.x") == []


@pytest.mark.parametrize("trigger_ref", ["a,b", "{x}", '"quoted"', "NULL", "", "ü 🚀\\"])
async def test_list_for_trigger_with_special_characters(
    session: AsyncSession, trigger_ref: str
) -> None:
    owner = await make_pack(session)
    matching = await make_sensor(session, owner, trigger_refs=["a", trigger_ref, "b"])
    await make_sensor(session, owner, trigger_refs=["a", "b"])
    listed = await sensor.list_for_trigger(session, trigger_ref=trigger_ref, limit=1000)
    assert [s.id for s in listed if s.pack_id == owner.id] == [matching.id]
    read = await sensor.repository.get(session, id=matching.id)
    assert read.trigger_refs == ["a", trigger_ref, "b"]


@pytest.mark.parametrize("limit", [0, 1001])
async def test_specialized_lists_refuse_unbounded_limits(session: AsyncSession, limit: int) -> None:
    with pytest.raises(errors.ValidationError, match="limit"):
        await sensor.list_by_pack(session, pack_id=1, limit=limit)
    with pytest.raises(errors.ValidationError, match="limit"):
        await sensor.list_for_trigger(session, trigger_ref="a.b", limit=limit)


async def test_config_empty_and_nested(session: AsyncSession) -> None:
    nested = {"a": {"b": [1, {"c": None}, "d", 2.5, False]}, "e": None}
    empty = await make_sensor(session, config={})
    deep = await make_sensor(session, config=nested)
    assert (await sensor.repository.get(session, id=empty.id)).config == {}
    assert await json_type(session, Sensor.config, empty.id) == "object"
    assert (await sensor.repository.get(session, id=deep.id)).config == nested


async def test_long_text_and_many_trigger_refs_round_trip(session: AsyncSession) -> None:
    name = unique("long") + "-" * 3000
    stem = unique("many")
    refs = [f"{stem}.t{i}" for i in range(1000)]
    entry_point = "sensors/ünï cödé 🚀 'q' \"d\".py"
    created = await make_sensor(session, name=name, trigger_refs=refs, entry_point=entry_point)
    read = await sensor.repository.get_by_key(session, created.ref)
    assert read.name == name
    assert read.trigger_refs == refs
    assert read.entry_point == entry_point
    assert [s.id for s in await sensor.list_for_trigger(session, trigger_ref=refs[-1])] == [
        created.id
    ]
