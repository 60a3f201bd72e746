"""Policy repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.repositories import action, pack, policy
from tests.db.factories import make_action, make_pack, unique
from tests.db.factories_definitions import make_policy


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    owner = await make_pack(session)
    on = await make_action(session, owner)
    created = await policy.repository.create(
        session,
        ref=f"{owner.ref}.throttle",
        pack_id=owner.id,
        pack_ref=owner.ref,
        name="throttle",
        label="Throttle",
        description="At most 2 at once, 0.5 per second",
        action_id=on.id,
        action_ref=on.ref,
        concurrency_limit=2,
        max_queue_length=50,
        on_full="reject",
        method="cancel",
        rate_limit_per_second=0.5,
        enabled=False,
    )
    read = await policy.repository.get(session, id=created.id)
    assert read.ref == f"{owner.ref}.throttle"
    assert read.pack_id == owner.id
    assert read.pack_ref == owner.ref
    assert read.name == "throttle"
    assert read.label == "Throttle"
    assert read.description == "At most 2 at once, 0.5 per second"
    assert (read.action_id, read.action_ref) == (on.id, on.ref)
    assert read.concurrency_limit == 2
    assert read.max_queue_length == 50
    assert read.on_full == "reject"
    assert read.method == "cancel"
    assert read.rate_limit_per_second == 0.5
    assert read.enabled is False


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    owner = await make_pack(session)
    created = await policy.repository.create(
        session,
        ref=f"{owner.ref}.bare",
        pack_id=owner.id,
        pack_ref=owner.ref,
        name="bare",
        action_ref="other.action",
    )
    assert created.id > 0
    assert created.label is None
    assert created.description is None
    assert created.action_id is None
    assert created.concurrency_limit is None
    assert created.max_queue_length == 10000
    assert created.on_full == "reject"
    assert created.method == "enqueue"
    assert created.rate_limit_per_second is None
    assert created.enabled is True
    assert created.created == created.updated


async def test_missing_action_ref_is_named(session: AsyncSession) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match="action_ref is required"):
        await policy.repository.create(
            session, ref=f"{owner.ref}.x", pack_id=owner.id, pack_ref=owner.ref, name="x"
        )


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await policy.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"policy {2**62} not found"):
        await policy.repository.get(session, id=2**62)
    missing = f"{unique('nope')}.x"
    assert await policy.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound, match=missing):
        await policy.repository.get_by_key(session, missing)


async def test_find_by_ref(session: AsyncSession) -> None:
    created = await make_policy(session)
    assert (await policy.repository.get_by_key(session, created.ref)).id == created.id


async def test_partial_update_and_update_missing(session: AsyncSession) -> None:
    created = await make_policy(session, concurrency_limit=3, rate_limit_per_second=2.0)
    updated = await policy.repository.update(
        session, id=created.id, changes={"concurrency_limit": None, "method": "cancel"}
    )
    assert updated.concurrency_limit is None
    assert updated.method == "cancel"
    assert updated.rate_limit_per_second == 2.0
    assert updated.max_queue_length == 10000
    with pytest.raises(errors.NotFound):
        await policy.repository.update(session, id=2**62, changes={"enabled": False})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_policy(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await policy.repository.update(session, id=created.id, changes={"enabled": False})
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_policy(session)
    assert await policy.repository.delete(session, id=created.id) is True
    assert await policy.repository.find(session, id=created.id) is None
    assert await policy.repository.delete(session, id=created.id) is False


async def test_deleting_the_pack_deletes_its_policies(session: AsyncSession) -> None:
    owner = await make_pack(session)
    owned = await make_policy(session, owner)
    # A policy of another pack on an action of this pack stays, keeping the ref.
    on = await make_action(session, owner)
    other = await make_policy(session, on=on)
    await pack.repository.delete(session, id=owner.id)
    assert await policy.repository.find(session, id=owned.id) is None
    kept = await policy.repository.get(session, id=other.id)
    assert kept.action_id is None
    assert kept.action_ref == on.ref


async def test_deleting_its_action_keeps_the_policy_by_ref(session: AsyncSession) -> None:
    on = await make_action(session)
    created = await make_policy(session, on=on, concurrency_limit=1)
    await action.repository.delete(session, id=on.id)
    kept = await policy.repository.get(session, id=created.id)
    assert kept.action_id is None
    assert kept.action_ref == on.ref
    assert kept.concurrency_limit == 1
    # What the executor asks still finds it by the ref.
    found = await policy.find_enabled_for_action(session, action_ref=on.ref)
    assert found is not None
    assert found.id == created.id


async def test_unknown_action_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_policy(session, action_id=2**62)
    assert raised.value.details["constraint"] == "fk_policy_action_id_action"


async def test_duplicate_ref_is_a_conflict_naming_the_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    created = await make_policy(session, owner)
    with pytest.raises(errors.Conflict) as raised:
        await make_policy(session, owner, name=created.name)
    assert created.ref in raised.value.message
    assert raised.value.details["constraint"] == "uq_policy_ref"


@pytest.mark.parametrize(
    ("pack_ref", "name"),
    [("core", "Limit"), ("Core", "limit"), ("core", "li mit"), ("core", ""), ("", "limit")],
)
async def test_malformed_ref_is_a_validation_error(
    session: AsyncSession, pack_ref: str, name: str
) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match="lowercase") as raised:
        await make_policy(session, owner, ref=f"{pack_ref}.{name}", pack_ref=pack_ref, name=name)
    assert raised.value.details["constraint"] == "ck_policy_ref_format"


async def test_ref_not_made_of_its_parts_is_a_validation_error(session: AsyncSession) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match=r"must equal `pack_ref\.name`") as raised:
        await make_policy(session, owner, ref=f"{owner.ref}.one", name="other")
    assert raised.value.details["constraint"] == "ck_policy_ref_parts"


@pytest.mark.parametrize("method", ["enqueue", "cancel"])
async def test_every_method_round_trips(session: AsyncSession, method: str) -> None:
    created = await make_policy(session, method=method)
    assert (await policy.repository.get(session, id=created.id)).method == method


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("concurrency_limit", 0, "ck_policy_concurrency_limit_positive"),
        ("concurrency_limit", -1, "ck_policy_concurrency_limit_positive"),
        ("max_queue_length", -1, "ck_policy_max_queue_length_nonnegative"),
        ("on_full", "drop", "ck_policy_on_full"),
        ("on_full", "Reject", "ck_policy_on_full"),
        ("method", "skip", "ck_policy_method"),
        ("method", "", "ck_policy_method"),
        ("rate_limit_per_second", 0.0, "ck_policy_rate_limit_positive"),
        ("rate_limit_per_second", -0.5, "ck_policy_rate_limit_positive"),
        ("rate_limit_per_second", math.nan, "ck_policy_rate_limit_positive"),
        ("rate_limit_per_second", math.inf, "ck_policy_rate_limit_positive"),
    ],
)
async def test_value_breaking_a_rule_is_a_validation_error(
    session: AsyncSession, field: str, value: object, constraint: str
) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_policy(session, **dict[str, Any]({field: value}))
    assert raised.value.details["constraint"] == constraint


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("concurrency_limit", 1),
        ("concurrency_limit", 2**31 - 1),
        ("max_queue_length", 0),
        ("max_queue_length", 2**31 - 1),
        ("rate_limit_per_second", 1e-9),
        ("rate_limit_per_second", 1e300),
    ],
)
async def test_values_at_the_limits_are_accepted(
    session: AsyncSession, field: str, value: float
) -> None:
    created = await make_policy(session, **dict[str, Any]({field: value}))
    assert getattr(await policy.repository.get(session, id=created.id), field) == value


@pytest.mark.parametrize("field", ["concurrency_limit", "max_queue_length"])
async def test_integer_beyond_its_column_is_a_validation_error(
    session: AsyncSession, field: str
) -> None:
    with pytest.raises(errors.ValidationError):
        await make_policy(session, **dict[str, Any]({field: 2**31}))


async def test_list_by_action_filters_and_orders_by_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    on = await make_action(session, owner)
    for name in ("c", "a", "b"):
        await make_policy(session, owner, name=name, on=on, enabled=name != "b")
    await make_policy(session, owner, name="z")  # another action
    listed = await policy.list_by_action(session, action_ref=on.ref)
    assert [p.ref for p in listed] == [f"{owner.ref}.a", f"{owner.ref}.b", f"{owner.ref}.c"]
    limited = await policy.list_by_action(session, action_ref=on.ref, limit=2)
    assert [p.name for p in limited] == ["a", "b"]


async def test_list_by_action_empty(session: AsyncSession) -> None:
    await make_policy(session)
    assert await policy.list_by_action(session, action_ref=f"{unique('unused')}.x") == []


async def test_find_enabled_for_action_skips_disabled(session: AsyncSession) -> None:
    on = await make_action(session)
    await make_policy(session, on=on, name="a", enabled=False)
    enabled = await make_policy(session, on=on, name="b")
    await make_policy(session, name="aa")  # another action
    found = await policy.find_enabled_for_action(session, action_ref=on.ref)
    assert found is not None
    assert found.id == enabled.id


async def test_find_enabled_for_action_takes_the_first_by_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    on = await make_action(session, owner)
    await make_policy(session, owner, on=on, name="second")
    first = await make_policy(session, owner, on=on, name="first")
    found = await policy.find_enabled_for_action(session, action_ref=on.ref)
    assert found is not None
    assert found.id == first.id


async def test_find_enabled_for_action_none(session: AsyncSession) -> None:
    on = await make_action(session)
    assert await policy.find_enabled_for_action(session, action_ref=on.ref) is None
    await make_policy(session, on=on, enabled=False)
    assert await policy.find_enabled_for_action(session, action_ref=on.ref) is None


@pytest.mark.parametrize("limit", [0, 1001])
async def test_list_by_action_refuses_unbounded_limits(session: AsyncSession, limit: int) -> None:
    with pytest.raises(errors.ValidationError, match="limit"):
        await policy.list_by_action(session, action_ref="a.b", limit=limit)


async def test_long_and_special_text_round_trips(session: AsyncSession) -> None:
    name = unique("long") + "-" * 3000
    description = "Ünïcödé 🚀 'q' \"d\" \\ ; DROP TABLE policy; --"
    action_ref = "Not.Installed ü 🚀" + "x" * 2000
    created = await make_policy(
        session, name=name, description=description, action_id=None, action_ref=action_ref
    )
    read = await policy.repository.get_by_key(session, created.ref)
    assert read.name == name
    assert read.description == description
    assert [p.id for p in await policy.list_by_action(session, action_ref=action_ref)] == [
        created.id
    ]
