"""Runtime repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Runtime, RuntimeType
from db.repositories import pack, runtime, sensor, worker
from tests.db.factories import json_type, make_pack, make_runtime, make_sensor, unique
from tests.db.factories_definitions import make_worker, tables_emptied


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    owner = await make_pack(session)
    ref = f"{owner.ref}.sensor.{unique('python')}"
    created = await runtime.repository.create(
        session,
        ref=ref,
        runtime_type=RuntimeType.SENSOR,
        pack_id=owner.id,
        description="Python 3.11 in a virtualenv",
        distributions={"ubuntu": {"packages": ["python3.11", "python3-venv"]}, "alpine": None},
        installation={"steps": [{"run": "python -m venv .venv"}, {"pip": ["requests>=2"]}]},
    )
    read = await runtime.repository.get(session, id=created.id)
    assert read.ref == ref
    assert read.runtime_type is RuntimeType.SENSOR
    assert read.pack_id == owner.id
    assert read.description == "Python 3.11 in a virtualenv"
    assert read.distributions == {
        "ubuntu": {"packages": ["python3.11", "python3-venv"]},
        "alpine": None,
    }
    assert read.installation["steps"][1] == {"pip": ["requests>=2"]}


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await make_runtime(session)
    assert created.id > 0
    assert created.pack_id is None
    assert created.description is None
    assert created.distributions == {}
    assert created.installation == {}
    assert created.created == created.updated
    assert await json_type(session, Runtime.distributions, created.id) == "object"


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await runtime.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"runtime {2**62} not found"):
        await runtime.repository.get(session, id=2**62)
    missing = f"{unique('nope')}.action.x"
    assert await runtime.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound, match=missing):
        await runtime.repository.get_by_key(session, missing)


async def test_find_by_ref(session: AsyncSession) -> None:
    created = await make_runtime(session)
    found = await runtime.repository.get_by_key(session, created.ref)
    assert found.id == created.id


@pytest.mark.parametrize("runtime_type", list(RuntimeType))
async def test_every_runtime_type_round_trips(
    session: AsyncSession, runtime_type: RuntimeType
) -> None:
    created = await make_runtime(
        session, ref=f"{unique('rt')}.{runtime_type.value}.x", runtime_type=runtime_type
    )
    read = await runtime.repository.get(session, id=created.id)
    assert read.runtime_type is runtime_type


async def test_unknown_runtime_type_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="runtime_type"):
        await make_runtime(session, runtime_type="python")


async def test_partial_update_and_update_missing(session: AsyncSession) -> None:
    created = await make_runtime(session, description="before", installation={"a": 1})
    updated = await runtime.repository.update(
        session, id=created.id, changes={"description": None, "distributions": {"debian": {}}}
    )
    assert updated.description is None
    assert updated.distributions == {"debian": {}}
    assert updated.installation == {"a": 1}
    assert updated.runtime_type is RuntimeType.ACTION
    with pytest.raises(errors.NotFound):
        await runtime.repository.update(session, id=2**62, changes={"description": "x"})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_runtime(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await runtime.repository.update(
        session, id=created.id, changes={"description": "new"}
    )
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_runtime(session)
    assert await runtime.repository.delete(session, id=created.id) is True
    assert await runtime.repository.find(session, id=created.id) is None
    assert await runtime.repository.delete(session, id=created.id) is False


async def test_deleting_the_pack_deletes_its_runtimes(session: AsyncSession) -> None:
    owner = await make_pack(session)
    owned = await make_runtime(session, pack_id=owner.id)
    unowned = await make_runtime(session)
    await pack.repository.delete(session, id=owner.id)
    assert await runtime.repository.find(session, id=owned.id) is None
    assert await runtime.repository.find(session, id=unowned.id) is not None


async def test_deleting_a_runtime_keeps_its_workers_and_sensors(session: AsyncSession) -> None:
    used = await make_runtime(session)
    a_worker = await make_worker(session, runtime_id=used.id)
    a_sensor = await make_sensor(session, runtime_id=used.id)
    await runtime.repository.delete(session, id=used.id)
    assert (await worker.repository.get(session, id=a_worker.id)).runtime_id is None
    assert (await sensor.repository.get(session, id=a_sensor.id)).runtime_id is None


async def test_unknown_pack_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_runtime(session, pack_id=2**62)
    assert raised.value.details["constraint"] == "fk_runtime_pack_id_pack"


async def test_duplicate_ref_is_a_conflict_naming_the_ref(session: AsyncSession) -> None:
    created = await make_runtime(session)
    with pytest.raises(errors.Conflict) as raised:
        await make_runtime(session, ref=created.ref, runtime_type=RuntimeType.SENSOR)
    assert created.ref in raised.value.message
    assert raised.value.details["constraint"] == "uq_runtime_ref"


@pytest.mark.parametrize(
    "ref",
    [
        "core.python",  # no action|sensor part
        "core.runner.python",  # neither action nor sensor
        "core.action.",  # empty name
        ".action.python",  # empty pack
        "core.action.py.thon",  # dot in the name
        "Core.action.python",  # upper case
        "core.Action.python",
        "core.action.pyth on",
        "",
    ],
)
async def test_malformed_ref_is_a_validation_error(session: AsyncSession, ref: str) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_runtime(session, ref=ref)
    assert raised.value.details["constraint"] == "ck_runtime_ref_format"
    assert "ref must be" in raised.value.message


async def test_list_by_type_filters_and_orders_by_ref(session: AsyncSession) -> None:
    stem = unique("order")
    for name in ("c", "a", "b"):
        await make_runtime(session, ref=f"{stem}.action.{name}")
    sensor_runtime = await make_runtime(
        session, ref=f"{stem}.sensor.a", runtime_type=RuntimeType.SENSOR
    )
    actions = await runtime.list_by_type(session, runtime_type=RuntimeType.ACTION, limit=1000)
    assert [r.ref for r in actions if r.ref.startswith(stem)] == [
        f"{stem}.action.a",
        f"{stem}.action.b",
        f"{stem}.action.c",
    ]
    assert all(r.runtime_type is RuntimeType.ACTION for r in actions)
    assert [r.ref for r in actions] == sorted(r.ref for r in actions)
    sensors = await runtime.list_by_type(session, runtime_type=RuntimeType.SENSOR, limit=1000)
    assert [r.id for r in sensors if r.ref.startswith(stem)] == [sensor_runtime.id]
    assert len(await runtime.list_by_type(session, runtime_type=RuntimeType.ACTION, limit=2)) == 2


async def test_list_by_type_empty(session: AsyncSession) -> None:
    await make_runtime(session, runtime_type=RuntimeType.ACTION)
    async with tables_emptied(session, Runtime):
        assert await runtime.list_by_type(session, runtime_type=RuntimeType.ACTION) == []
    assert await runtime.list_by_type(session, runtime_type=RuntimeType.ACTION) != []


async def test_list_by_pack_filters_and_orders_by_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    for name in ("b", "a"):
        await make_runtime(session, ref=f"{owner.ref}.sensor.{name}", pack_id=owner.id)
    await make_runtime(session, ref=f"{owner.ref}.action.z", pack_id=owner.id)
    await make_runtime(session, pack_id=(await make_pack(session)).id)
    await make_runtime(session)
    listed = await runtime.list_by_pack(session, pack_id=owner.id)
    assert [r.ref for r in listed] == [
        f"{owner.ref}.action.z",
        f"{owner.ref}.sensor.a",
        f"{owner.ref}.sensor.b",
    ]
    assert [r.ref for r in await runtime.list_by_pack(session, pack_id=owner.id, limit=1)] == [
        f"{owner.ref}.action.z"
    ]


async def test_list_by_pack_empty(session: AsyncSession) -> None:
    empty = await make_pack(session)
    await make_runtime(session)
    assert await runtime.list_by_pack(session, pack_id=empty.id) == []
    assert await runtime.list_by_pack(session, pack_id=2**62) == []


@pytest.mark.parametrize("limit", [0, 1001])
async def test_specialized_lists_refuse_unbounded_limits(session: AsyncSession, limit: int) -> None:
    with pytest.raises(errors.ValidationError, match="limit"):
        await runtime.list_by_type(session, runtime_type=RuntimeType.ACTION, limit=limit)
    with pytest.raises(errors.ValidationError, match="limit"):
        await runtime.list_by_pack(session, pack_id=1, limit=limit)


async def test_json_fields_round_trip_empty_nested_and_json_null(session: AsyncSession) -> None:
    nested: dict[str, Any] = {
        "a": {"b": {"c": [1, 2.5, "three", True, None, {"d": []}]}},
        "e": None,
    }
    created = await make_runtime(session, distributions={}, installation=nested)
    read = await runtime.repository.get(session, id=created.id)
    assert read.distributions == {}
    assert read.installation == nested
    assert await json_type(session, Runtime.installation, created.id) == "object"


async def test_very_long_ref_and_special_characters_round_trip(session: AsyncSession) -> None:
    long_ref = f"{unique('long')}{'-' * 1000}.action.{'_' * 1000}x"
    description = "Ünïcödé 🚀 'quotes' \"double\" \\ back; DROP TABLE runtime; --\n\ttab"
    created = await make_runtime(session, ref=long_ref, description=description)
    read = await runtime.repository.get_by_key(session, long_ref)
    assert read.id == created.id
    assert read.description == description
