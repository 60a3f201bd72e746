"""Worker repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Worker, WorkerStatus, WorkerType
from db.repositories import runtime, worker
from tests.db.factories import json_type, make_runtime, unique
from tests.db.factories_definitions import make_worker, tables_emptied


async def database_clock(session: AsyncSession) -> datetime:
    clock: datetime = (await session.execute(select(func.clock_timestamp()))).scalar_one()
    return clock


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    a_runtime = await make_runtime(session)
    beat = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    created = await worker.repository.create(
        session,
        name="worker-1",
        worker_type=WorkerType.CONTAINER,
        status=WorkerStatus.BUSY,
        runtime_id=a_runtime.id,
        host="10.0.0.7",
        port=8080,
        capabilities={"runners": ["python", "shell"], "limits": {"cpu": 2, "gpu": None}},
        meta={"image": "attune/worker:1.0", "labels": {"zone": "eu-west-1a"}},
        last_heartbeat=beat,
    )
    read = await worker.repository.get(session, id=created.id)
    assert read.name == "worker-1"
    assert read.worker_type is WorkerType.CONTAINER
    assert read.status is WorkerStatus.BUSY
    assert read.runtime_id == a_runtime.id
    assert read.host == "10.0.0.7"
    assert read.port == 8080
    assert read.capabilities == {"runners": ["python", "shell"], "limits": {"cpu": 2, "gpu": None}}
    assert read.meta == {"image": "attune/worker:1.0", "labels": {"zone": "eu-west-1a"}}
    assert read.last_heartbeat == beat


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await worker.repository.create(
        session, name=unique("minimal"), worker_type=WorkerType.LOCAL
    )
    assert created.id > 0
    assert created.status is WorkerStatus.ACTIVE
    assert created.runtime_id is None
    assert created.host is None
    assert created.port is None
    assert created.capabilities == {}
    assert created.meta == {}
    assert created.last_heartbeat is None
    assert created.created == created.updated


async def test_missing_required_fields_are_named(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="worker_type is required"):
        await worker.repository.create(session, name=unique("typeless"))


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await worker.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"worker {2**62} not found"):
        await worker.repository.get(session, id=2**62)


@pytest.mark.parametrize("worker_type", list(WorkerType))
async def test_every_worker_type_round_trips(
    session: AsyncSession, worker_type: WorkerType
) -> None:
    created = await make_worker(session, worker_type=worker_type)
    assert (await worker.repository.get(session, id=created.id)).worker_type is worker_type


@pytest.mark.parametrize("status", list(WorkerStatus))
async def test_every_status_round_trips(session: AsyncSession, status: WorkerStatus) -> None:
    created = await make_worker(session, status=status)
    assert (await worker.repository.get(session, id=created.id)).status is status


@pytest.mark.parametrize(("field", "value"), [("worker_type", "cloud"), ("status", "ACTIVE")])
async def test_unknown_enum_value_is_a_validation_error(
    session: AsyncSession, field: str, value: str
) -> None:
    with pytest.raises(errors.ValidationError, match=field):
        await make_worker(session, **{field: value})


async def test_partial_update_and_update_missing(session: AsyncSession) -> None:
    created = await make_worker(session, host="a", port=1, meta={"k": "v"})
    updated = await worker.repository.update(
        session, id=created.id, changes={"status": WorkerStatus.ERROR, "host": None}
    )
    assert updated.status is WorkerStatus.ERROR
    assert updated.host is None
    assert updated.port == 1
    assert updated.meta == {"k": "v"}
    with pytest.raises(errors.NotFound):
        await worker.repository.update(session, id=2**62, changes={"host": "x"})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_worker(session)
    first_created, first_updated = created.created, created.updated
    assert first_created == first_updated
    await asyncio.sleep(0.01)
    updated = await worker.repository.update(
        session, id=created.id, changes={"status": WorkerStatus.INACTIVE}
    )
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_worker(session)
    assert await worker.repository.delete(session, id=created.id) is True
    assert await worker.repository.find(session, id=created.id) is None
    assert await worker.repository.delete(session, id=created.id) is False


async def test_deleting_its_runtime_keeps_the_worker(session: AsyncSession) -> None:
    a_runtime = await make_runtime(session)
    created = await make_worker(session, runtime_id=a_runtime.id, host="h")
    await runtime.repository.delete(session, id=a_runtime.id)
    kept = await worker.repository.get(session, id=created.id)
    assert kept.runtime_id is None
    assert kept.host == "h"


async def test_unknown_runtime_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_worker(session, runtime_id=2**62)
    assert raised.value.details["constraint"] == "fk_worker_runtime_id_runtime"


async def test_duplicate_names_are_allowed_and_ordered_by_id(session: AsyncSession) -> None:
    name = unique("twin")
    first = await make_worker(session, name=name)
    second = await make_worker(session, name=name)
    listed = await worker.repository.list(session, name=name)
    assert [w.id for w in listed] == [first.id, second.id]


@pytest.mark.parametrize("port", [1, 65535])
async def test_port_bounds_are_accepted(session: AsyncSession, port: int) -> None:
    created = await make_worker(session, port=port)
    assert (await worker.repository.get(session, id=created.id)).port == port


@pytest.mark.parametrize("port", [0, -1, 65536, 2**31 - 1])
async def test_port_out_of_range_is_a_validation_error(session: AsyncSession, port: int) -> None:
    with pytest.raises(errors.ValidationError, match="between 1 and 65535") as raised:
        await make_worker(session, port=port)
    assert raised.value.details["constraint"] == "ck_worker_port_range"


async def test_port_beyond_integer_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError):
        await make_worker(session, port=2**31)


async def test_heartbeat_sets_the_database_clock_and_moves_updated(
    session: AsyncSession,
) -> None:
    created = await make_worker(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    before = await database_clock(session)
    beaten = await worker.heartbeat(session, id=created.id)
    after = await database_clock(session)
    assert beaten.id == created.id
    assert beaten.last_heartbeat is not None
    assert before <= beaten.last_heartbeat <= after
    assert beaten.updated > first_updated
    assert beaten.created == first_created
    read = await worker.repository.get(session, id=created.id)
    assert read.last_heartbeat == beaten.last_heartbeat


async def test_heartbeat_moves_forward_within_one_transaction(session: AsyncSession) -> None:
    created = await make_worker(session)
    first = await worker.heartbeat(session, id=created.id)
    first_beat, first_updated = first.last_heartbeat, first.updated
    assert first_beat is not None
    await asyncio.sleep(0.01)
    second = await worker.heartbeat(session, id=created.id)
    assert second.last_heartbeat is not None
    assert second.last_heartbeat > first_beat
    assert second.updated > first_updated


async def test_heartbeat_touches_only_that_worker(session: AsyncSession) -> None:
    beating = await make_worker(session, status=WorkerStatus.BUSY, meta={"k": 1})
    idle = await make_worker(session)
    beaten = await worker.heartbeat(session, id=beating.id)
    assert beaten.status is WorkerStatus.BUSY
    assert beaten.meta == {"k": 1}
    assert (await worker.repository.get(session, id=idle.id)).last_heartbeat is None


async def test_heartbeat_of_missing_worker_raises_not_found(session: AsyncSession) -> None:
    with pytest.raises(errors.NotFound, match=f"worker {2**62} not found") as raised:
        await worker.heartbeat(session, id=2**62)
    assert raised.value.details == {"id": 2**62}


async def test_list_by_status_filters_and_orders_by_name(session: AsyncSession) -> None:
    stem = unique("status")
    for suffix in ("c", "a", "b"):
        await make_worker(session, name=f"{stem}-{suffix}", status=WorkerStatus.BUSY)
    other = await make_worker(session, name=f"{stem}-d", status=WorkerStatus.ERROR)
    busy = await worker.list_by_status(session, status=WorkerStatus.BUSY, limit=1000)
    assert [w.name for w in busy if w.name.startswith(stem)] == [
        f"{stem}-a",
        f"{stem}-b",
        f"{stem}-c",
    ]
    assert all(w.status is WorkerStatus.BUSY for w in busy)
    assert [w.name for w in busy] == sorted(w.name for w in busy)
    failing = await worker.list_by_status(session, status=WorkerStatus.ERROR, limit=1000)
    assert [w.id for w in failing if w.name.startswith(stem)] == [other.id]
    assert len(await worker.list_by_status(session, status=WorkerStatus.BUSY, limit=2)) == 2


async def test_list_by_status_empty(session: AsyncSession) -> None:
    await make_worker(session, status=WorkerStatus.INACTIVE)
    async with tables_emptied(session, Worker):
        assert await worker.list_by_status(session, status=WorkerStatus.INACTIVE) == []


async def test_list_by_type_filters_and_orders_by_name(session: AsyncSession) -> None:
    stem = unique("type")
    for suffix in ("b", "a"):
        await make_worker(session, name=f"{stem}-{suffix}", worker_type=WorkerType.REMOTE)
    local = await make_worker(session, name=f"{stem}-c", worker_type=WorkerType.LOCAL)
    remote = await worker.list_by_type(session, worker_type=WorkerType.REMOTE, limit=1000)
    assert [w.name for w in remote if w.name.startswith(stem)] == [f"{stem}-a", f"{stem}-b"]
    assert all(w.worker_type is WorkerType.REMOTE for w in remote)
    assert [w.name for w in remote] == sorted(w.name for w in remote)
    locals_ = await worker.list_by_type(session, worker_type=WorkerType.LOCAL, limit=1000)
    assert [w.id for w in locals_ if w.name.startswith(stem)] == [local.id]


async def test_list_by_type_empty(session: AsyncSession) -> None:
    await make_worker(session, worker_type=WorkerType.CONTAINER)
    async with tables_emptied(session, Worker):
        assert await worker.list_by_type(session, worker_type=WorkerType.CONTAINER) == []


@pytest.mark.parametrize("limit", [0, 1001])
async def test_specialized_lists_refuse_unbounded_limits(session: AsyncSession, limit: int) -> None:
    with pytest.raises(errors.ValidationError, match="limit"):
        await worker.list_by_status(session, status=WorkerStatus.ACTIVE, limit=limit)
    with pytest.raises(errors.ValidationError, match="limit"):
        await worker.list_by_type(session, worker_type=WorkerType.LOCAL, limit=limit)


async def test_json_fields_round_trip_empty_and_nested(session: AsyncSession) -> None:
    nested = {"a": {"b": [1, {"c": None}, 2.5, "x", False]}, "null": None}
    created = await make_worker(session, capabilities={}, meta=nested)
    read = await worker.repository.get(session, id=created.id)
    assert read.capabilities == {}
    assert read.meta == nested
    assert await json_type(session, Worker.capabilities, created.id) == "object"


async def test_long_and_special_text_round_trips(session: AsyncSession) -> None:
    name = "Wörker 🚀 'q' \"d\" \\ ; DROP TABLE worker; --" + "x" * 5000
    host = "[2001:db8::1]" + "h" * 1000
    created = await make_worker(session, name=name, host=host)
    read = await worker.repository.get(session, id=created.id)
    assert read.name == name
    assert read.host == host
