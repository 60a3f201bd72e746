"""Key repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Key, OwnerType
from db.repositories import key
from tests.db.factories import json_type, unique
from tests.db.factories_access import make_key

UNIQUE_NAME = "uq_key_owner_type_owner_name"


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    name = unique("full")
    owner = unique("pack")
    value = {"user": "deploy", "hosts": ["a", "b"], "port": 22, "extra": {"x": None}}
    created = await key.repository.create(
        session,
        name=name,
        owner_type=OwnerType.PACK,
        owner=owner,
        value=value,
        encrypted=True,
    )
    read = await key.repository.get(session, id=created.id)
    assert read.name == name
    assert read.owner_type is OwnerType.PACK
    assert read.owner == owner
    assert read.value == value
    assert read.encrypted is True


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await key.repository.create(session, name=unique("min"), value="v")
    assert created.id > 0
    assert created.owner_type is OwnerType.SYSTEM
    assert created.owner == ""
    assert created.encrypted is False
    assert created.value == "v"
    assert created.created == created.updated


@pytest.mark.parametrize(
    ("value", "expected_kind"),
    [
        ("a string", "string"),
        ("", "string"),
        (42, "number"),
        (-3.25, "number"),
        (2**63 - 1, "number"),
        (True, "boolean"),
        ({}, "object"),
        ({"nested": {"deeper": {"list": [1, "two", None, {"three": 3}]}}}, "object"),
        ([], "array"),
        ([1, "two", {"three": [3]}], "array"),
    ],
)
async def test_value_takes_any_json_type(
    session: AsyncSession, value: Any, expected_kind: str
) -> None:
    created = await make_key(session, value=value)
    read = await key.repository.get(session, id=created.id)
    assert read.value == value
    assert type(read.value) is type(value)
    assert await json_type(session, Key.value, created.id) == expected_kind


async def test_sql_null_value_is_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="value is required") as raised:
        await make_key(session, value=null())
    assert raised.value.details == {"field": "value"}


async def test_missing_value_is_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="value is required"):
        await key.repository.create(session, name=unique("novalue"))


@pytest.mark.parametrize("owner_type", list(OwnerType))
async def test_every_owner_type_round_trips_and_scopes_queries(
    session: AsyncSession, owner_type: OwnerType
) -> None:
    owner = unique("owner")
    name = unique("name")
    created = await make_key(session, name=name, owner_type=owner_type, owner=owner)
    read = await key.repository.get(session, id=created.id)
    assert read.owner_type is owner_type
    listed = await key.list_by_owner(session, owner_type=owner_type, owner=owner)
    assert [k.id for k in listed] == [created.id]
    found = await key.find_by_name(session, name=name, owner_type=owner_type, owner=owner)
    assert found is not None
    assert found.id == created.id


async def test_owner_type_accepts_its_string_value(session: AsyncSession) -> None:
    created = await make_key(session, owner_type="identity", owner=unique("user"))
    read = await key.repository.get(session, id=created.id)
    assert read.owner_type is OwnerType.IDENTITY


async def test_unknown_owner_type_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="owner_type") as raised:
        await make_key(session, owner_type="tenant")
    assert raised.value.details["sqlstate"] == "22P02"


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await key.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"key {2**62} not found"):
        await key.repository.get(session, id=2**62)


async def test_find_by_name_defaults_to_the_system_scope(session: AsyncSession) -> None:
    name = unique("sys")
    system_key = await make_key(session, name=name)
    await make_key(session, name=name, owner_type=OwnerType.PACK, owner=unique("pack"))
    found = await key.find_by_name(session, name=name)
    assert found is not None
    assert found.id == system_key.id
    assert found.owner_type is OwnerType.SYSTEM


async def test_find_by_name_only_looks_in_the_given_scope(session: AsyncSession) -> None:
    name = unique("scoped")
    owner = unique("user")
    await make_key(session, name=name, owner_type=OwnerType.IDENTITY, owner=owner)
    assert await key.find_by_name(session, name=name) is None
    assert (
        await key.find_by_name(session, name=name, owner_type=OwnerType.PACK, owner=owner) is None
    )
    assert (
        await key.find_by_name(
            session, name=name, owner_type=OwnerType.IDENTITY, owner=unique("someone")
        )
        is None
    )
    assert await key.find_by_name(session, name=unique("missing")) is None


async def test_find_by_name_is_exact(session: AsyncSession) -> None:
    name = unique("exact")
    await make_key(session, name=name)
    assert await key.find_by_name(session, name=name.upper()) is None
    assert await key.find_by_name(session, name=name[:-1]) is None


async def test_list_by_owner_is_ordered_by_name_and_pages(session: AsyncSession) -> None:
    owner = unique("pack")
    stem = unique("k")
    for suffix in ("c", "a", "b"):
        await make_key(session, name=f"{stem}-{suffix}", owner_type=OwnerType.PACK, owner=owner)
    listed = await key.list_by_owner(session, owner_type=OwnerType.PACK, owner=owner)
    assert [k.name for k in listed] == [f"{stem}-a", f"{stem}-b", f"{stem}-c"]
    page = await key.list_by_owner(
        session, owner_type=OwnerType.PACK, owner=owner, limit=1, offset=1
    )
    assert [k.name for k in page] == [f"{stem}-b"]


async def test_list_by_owner_holds_only_that_owner(session: AsyncSession) -> None:
    owner = unique("shared")
    mine = await make_key(session, owner_type=OwnerType.ACTION, owner=owner)
    await make_key(session, owner_type=OwnerType.SENSOR, owner=owner)
    await make_key(session, owner_type=OwnerType.ACTION, owner=unique("other"))
    listed = await key.list_by_owner(session, owner_type=OwnerType.ACTION, owner=owner)
    assert [k.id for k in listed] == [mine.id]


async def test_list_by_owner_without_keys_is_empty(session: AsyncSession) -> None:
    assert await key.list_by_owner(session, owner_type=OwnerType.PACK, owner=unique("none")) == []


@pytest.mark.parametrize("limit", [0, 1001])
async def test_list_by_owner_refuses_unbounded_limits(session: AsyncSession, limit: int) -> None:
    with pytest.raises(errors.ValidationError, match="limit"):
        await key.list_by_owner(session, owner_type=OwnerType.SYSTEM, owner="", limit=limit)


async def test_list_is_ordered_by_owner_type_owner_and_name(session: AsyncSession) -> None:
    owner_a, owner_b = sorted([unique("oa"), unique("ob")])
    stem = unique("ord")
    for name, owner_type, owner in [
        ("b", OwnerType.PACK, owner_b),
        ("a", OwnerType.PACK, owner_b),
        ("z", OwnerType.PACK, owner_a),
        ("y", OwnerType.IDENTITY, owner_b),
    ]:
        await make_key(session, name=f"{stem}-{name}", owner_type=owner_type, owner=owner)
    listed = await key.repository.list(session, limit=1000)
    ours = [(k.owner_type, k.owner, k.name) for k in listed if k.name.startswith(stem)]
    # Enum values sort in declaration order: system, identity, pack, action, sensor.
    assert ours == [
        (OwnerType.IDENTITY, owner_b, f"{stem}-y"),
        (OwnerType.PACK, owner_a, f"{stem}-z"),
        (OwnerType.PACK, owner_b, f"{stem}-a"),
        (OwnerType.PACK, owner_b, f"{stem}-b"),
    ]


async def test_list_filters_by_encrypted(session: AsyncSession) -> None:
    owner = unique("enc")
    secret = await make_key(session, owner_type=OwnerType.PACK, owner=owner, encrypted=True)
    await make_key(session, owner_type=OwnerType.PACK, owner=owner, encrypted=False)
    listed = await key.repository.list(session, owner=owner, encrypted=True)
    assert [k.id for k in listed] == [secret.id]


async def test_partial_update_changes_only_given_fields(session: AsyncSession) -> None:
    created = await make_key(session, value={"old": True}, encrypted=True)
    updated = await key.repository.update(session, id=created.id, changes={"value": [1, 2]})
    assert updated.value == [1, 2]
    assert updated.encrypted is True
    assert updated.name == created.name
    assert updated.owner_type is OwnerType.SYSTEM


async def test_a_key_without_a_value_is_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="value is required"):
        await make_key(session, value=None)
    created = await make_key(session, value="set")
    with pytest.raises(errors.ValidationError, match="value is required"):
        await key.repository.update(session, id=created.id, changes={"value": None})
    assert (await key.repository.get(session, id=created.id)).value == "set"


async def test_update_missing_raises_not_found(session: AsyncSession) -> None:
    with pytest.raises(errors.NotFound):
        await key.repository.update(session, id=2**62, changes={"value": 1})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_key(session)
    first_created, first_updated = created.created, created.updated
    assert first_created == first_updated
    await asyncio.sleep(0.01)
    updated = await key.repository.update(session, id=created.id, changes={"value": "new"})
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_key(session)
    assert await key.repository.delete(session, id=created.id) is True
    assert await key.repository.find(session, id=created.id) is None
    assert await key.find_by_name(session, name=created.name) is None
    assert await key.repository.delete(session, id=created.id) is False


async def test_duplicate_name_in_one_scope_is_a_conflict(session: AsyncSession) -> None:
    owner = unique("pack")
    created = await make_key(session, owner_type=OwnerType.PACK, owner=owner)
    with pytest.raises(errors.Conflict) as raised:
        await make_key(session, name=created.name, owner_type=OwnerType.PACK, owner=owner)
    assert raised.value.details["constraint"] == UNIQUE_NAME
    assert created.name in raised.value.message


async def test_duplicate_system_key_is_a_conflict(session: AsyncSession) -> None:
    created = await make_key(session)
    with pytest.raises(errors.Conflict) as raised:
        await make_key(session, name=created.name)
    assert raised.value.details["constraint"] == UNIQUE_NAME


async def test_same_name_in_other_scopes_is_allowed(session: AsyncSession) -> None:
    name = unique("same")
    owner = unique("o")
    scopes = [
        (OwnerType.SYSTEM, ""),
        (OwnerType.PACK, owner),
        (OwnerType.ACTION, owner),
        (OwnerType.PACK, unique("o2")),
    ]
    for owner_type, scope_owner in scopes:
        await make_key(session, name=name, owner_type=owner_type, owner=scope_owner)
    for owner_type, scope_owner in scopes:
        found = await key.find_by_name(session, name=name, owner_type=owner_type, owner=scope_owner)
        assert found is not None
        assert (found.owner_type, found.owner) == (owner_type, scope_owner)


async def test_empty_name_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="name must not be empty") as raised:
        await make_key(session, name="")
    assert raised.value.details["constraint"] == "ck_key_name_not_empty"


async def test_missing_name_names_it(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="name is required"):
        await key.repository.create(session, value="v")


async def test_long_and_special_names_and_values_round_trip(session: AsyncSession) -> None:
    name = unique("long") + "/path.with:symbols-" * 100
    owner = "Ünïcödé 🚀 'quotes' \"double\" \\ backslash; DROP TABLE key; --"
    value = {"text": "x" * 100_000, "unicode": "🚀\u0001\ttab\nnewline", "quote": "'\"\\"}
    created = await make_key(session, name=name, owner_type=OwnerType.IDENTITY, owner=owner)
    await key.repository.update(session, id=created.id, changes={"value": value})
    found = await key.find_by_name(session, name=name, owner_type=OwnerType.IDENTITY, owner=owner)
    assert found is not None
    assert found.id == created.id
    assert found.value == value


async def test_put_creates_then_replaces_every_field(session: AsyncSession) -> None:
    name = unique("put")
    created, was_created = await key.put(
        session,
        owner_type=OwnerType.PACK,
        owner="p",
        name=name,
        value=[1],
        encrypted=True,
        description="first",
        ttl_seconds=60,
    )
    replaced, again = await key.put(
        session, owner_type=OwnerType.PACK, owner="p", name=name, value={"v": 2}
    )
    assert (was_created, again) == (True, False)
    assert replaced.id == created.id
    assert (replaced.value, replaced.encrypted, replaced.description) == ({"v": 2}, False, "")
    assert replaced.expires_at is None


async def test_put_counts_ttl_from_the_database_clock(session: AsyncSession) -> None:
    created, _ = await key.put(
        session, owner_type=OwnerType.SYSTEM, owner="", name=unique("ttl"), value=1, ttl_seconds=90
    )
    now = await session.scalar(select(func.statement_timestamp()))
    assert created.expires_at is not None
    assert now is not None
    assert abs((created.expires_at - now).total_seconds() - 90) < 5


async def test_put_over_an_expired_key_creates_it_afresh(session: AsyncSession) -> None:
    stale = await make_key(session, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    fresh, created = await key.put(
        session, owner_type=OwnerType.SYSTEM, owner="", name=stale.name, value="new"
    )
    assert created is True
    assert fresh.id != stale.id
    assert await key.find_by_name(session, name=stale.name) is not None


async def test_put_refuses_a_null_value(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="value"):
        await key.put(session, owner_type=OwnerType.SYSTEM, owner="", name=unique("n"), value=None)


async def test_list_live_filters_owner_types_owner_and_prefix(session: AsyncSession) -> None:
    stem = unique("live")
    owner = unique("pack")
    system_key = await make_key(session, name=f"{stem}-a")
    pack_key = await make_key(session, name=f"{stem}-b", owner_type=OwnerType.PACK, owner=owner)
    await make_key(session, name=f"{stem}-c", owner_type=OwnerType.ACTION, owner=owner)
    await make_key(session, name=f"{stem}-d", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    await make_key(session, name=f"x{stem}")

    scopes = [OwnerType.SYSTEM, OwnerType.PACK, OwnerType.IDENTITY]
    every = await key.list_live(session, owner_types=scopes, prefix=stem)
    packs = await key.list_live(session, owner_types=[OwnerType.PACK], owner=owner)
    literal = await key.list_live(session, owner_types=scopes, prefix=f"{stem[:-2]}%")

    assert [k.id for k in every] == [system_key.id, pack_key.id]
    assert [k.id for k in packs] == [pack_key.id]
    assert literal == []


async def test_delete_by_name_deletes_only_a_live_key(session: AsyncSession) -> None:
    live = await make_key(session)
    stale = await make_key(session, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert await key.delete_by_name(session, owner_type=OwnerType.SYSTEM, owner="", name=live.name)
    assert not await key.delete_by_name(
        session, owner_type=OwnerType.SYSTEM, owner="", name=live.name
    )
    assert not await key.delete_by_name(
        session, owner_type=OwnerType.SYSTEM, owner="", name=stale.name
    )
