"""Permission set repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import null
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.repositories import permission_assignment, permission_set
from tests.db.factories import make_identity, unique
from tests.db.factories_access import make_permission_set


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    ref = f"{unique('ops')}.admin-all_1"
    grants = [
        {"resource": "action", "permissions": ["view", "execute"]},
        {"resource": "pack", "refs": ["core", "linux"], "permissions": ["*"]},
    ]
    created = await permission_set.repository.create(
        session, ref=ref, label="Operators", description="Run everything", grants=grants
    )
    read = await permission_set.repository.get(session, id=created.id)
    assert read.ref == ref
    assert read.label == "Operators"
    assert read.description == "Run everything"
    assert read.grants == grants


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await make_permission_set(session)
    assert created.id > 0
    assert created.label is None
    assert created.description is None
    assert created.grants == []
    assert created.created == created.updated


@pytest.mark.parametrize(
    "grants",
    [
        [],
        {},
        [{"nested": {"deeper": [1, 2.5, None, True, {"deepest": "x"}]}}],
        {"as_object": {"allowed": ["view"]}},
        ["plain", 7, None],
    ],
)
async def test_grants_json_round_trips(session: AsyncSession, grants: Any) -> None:
    created = await make_permission_set(session, grants=grants)
    read = await permission_set.repository.get(session, id=created.id)
    assert read.grants == grants


async def test_sql_null_grants_are_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="grants is required"):
        await make_permission_set(session, grants=null())


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await permission_set.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"permission set {2**62} not found"):
        await permission_set.repository.get(session, id=2**62)
    missing = unique("missing")
    assert await permission_set.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound, match=missing) as raised:
        await permission_set.repository.get_by_key(session, missing)
    assert raised.value.details == {"ref": missing}


async def test_find_and_get_by_ref(session: AsyncSession) -> None:
    created = await make_permission_set(session)
    found = await permission_set.repository.find_by_key(session, created.ref)
    assert found is not None
    assert found.id == created.id
    assert (await permission_set.repository.get_by_key(session, created.ref)).id == created.id


async def test_list_is_ordered_by_ref_and_pages(session: AsyncSession) -> None:
    stem = unique("order")
    for suffix in ("c", "a", "b"):
        await make_permission_set(session, ref=f"{stem}-{suffix}")
    listed = await permission_set.repository.list(session, limit=1000)
    ours = [p.ref for p in listed if p.ref.startswith(stem)]
    assert ours == [f"{stem}-a", f"{stem}-b", f"{stem}-c"]

    first_page = await permission_set.repository.list(session, limit=2)
    second_page = await permission_set.repository.list(session, limit=2, offset=2)
    assert [p.ref for p in first_page + second_page] == [p.ref for p in listed[:4]]


async def test_list_for_identity_is_ordered_by_ref(session: AsyncSession) -> None:
    person = await make_identity(session)
    stem = unique("mine")
    sets = {}
    # Created and assigned out of ref order: the list must still come back by ref.
    for suffix in ("b", "c", "a"):
        sets[suffix] = await make_permission_set(session, ref=f"{stem}.{suffix}")
        await permission_assignment.assign(
            session, identity_id=person.id, permission_set_id=sets[suffix].id
        )
    listed = await permission_set.list_for_identity(session, identity_id=person.id)
    assert [p.ref for p in listed] == [f"{stem}.a", f"{stem}.b", f"{stem}.c"]
    assert [p.id for p in listed] == [sets["a"].id, sets["b"].id, sets["c"].id]


async def test_list_for_identity_holds_only_its_assigned_sets(session: AsyncSession) -> None:
    person = await make_identity(session)
    someone_else = await make_identity(session)
    mine = await make_permission_set(session)
    theirs = await make_permission_set(session)
    shared = await make_permission_set(session)
    await make_permission_set(session)  # assigned to nobody
    for who, what in (
        (person, mine),
        (someone_else, theirs),
        (person, shared),
        (someone_else, shared),
    ):
        await permission_assignment.assign(session, identity_id=who.id, permission_set_id=what.id)
    listed = await permission_set.list_for_identity(session, identity_id=person.id)
    assert sorted(p.id for p in listed) == sorted([mine.id, shared.id])


async def test_list_for_identity_without_assignments_is_empty(session: AsyncSession) -> None:
    person = await make_identity(session)
    await make_permission_set(session)
    assert await permission_set.list_for_identity(session, identity_id=person.id) == []
    assert await permission_set.list_for_identity(session, identity_id=2**62) == []


async def test_list_for_identity_follows_unassign(session: AsyncSession) -> None:
    person = await make_identity(session)
    kept = await make_permission_set(session)
    dropped = await make_permission_set(session)
    for a_set in (kept, dropped):
        await permission_assignment.assign(
            session, identity_id=person.id, permission_set_id=a_set.id
        )
    await permission_assignment.unassign(
        session, identity_id=person.id, permission_set_id=dropped.id
    )
    listed = await permission_set.list_for_identity(session, identity_id=person.id)
    assert [p.id for p in listed] == [kept.id]


async def test_list_for_identity_is_bounded(session: AsyncSession) -> None:
    person = await make_identity(session)
    stem = unique("lim")
    for suffix in ("a", "b", "c"):
        a_set = await make_permission_set(session, ref=f"{stem}{suffix}")
        await permission_assignment.assign(
            session, identity_id=person.id, permission_set_id=a_set.id
        )
    listed = await permission_set.list_for_identity(session, identity_id=person.id, limit=2)
    assert [p.ref for p in listed] == [f"{stem}a", f"{stem}b"]
    with pytest.raises(errors.ValidationError, match="limit"):
        await permission_set.list_for_identity(session, identity_id=person.id, limit=0)


async def test_partial_update_changes_only_given_fields(session: AsyncSession) -> None:
    created = await make_permission_set(session, label="before", description="kept")
    updated = await permission_set.repository.update(
        session, id=created.id, changes={"label": None, "grants": [{"resource": "key"}]}
    )
    assert updated.label is None
    assert updated.grants == [{"resource": "key"}]
    assert updated.description == "kept"
    assert updated.ref == created.ref


async def test_update_missing_raises_not_found(session: AsyncSession) -> None:
    with pytest.raises(errors.NotFound):
        await permission_set.repository.update(session, id=2**62, changes={"label": "x"})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_permission_set(session)
    first_created, first_updated = created.created, created.updated
    assert first_created == first_updated
    await asyncio.sleep(0.01)
    updated = await permission_set.repository.update(
        session, id=created.id, changes={"label": "New"}
    )
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_permission_set(session)
    assert await permission_set.repository.delete(session, id=created.id) is True
    assert await permission_set.repository.find(session, id=created.id) is None
    assert await permission_set.repository.delete(session, id=created.id) is False


async def test_deleting_a_set_deletes_its_assignments(session: AsyncSession) -> None:
    person = await make_identity(session)
    a_set = await make_permission_set(session)
    assignment = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=a_set.id
    )
    await permission_set.repository.delete(session, id=a_set.id)
    assert await permission_assignment.repository.find(session, id=assignment.id) is None
    assert await permission_set.list_for_identity(session, identity_id=person.id) == []


async def test_duplicate_ref_is_a_conflict_naming_the_ref(session: AsyncSession) -> None:
    created = await make_permission_set(session)
    with pytest.raises(errors.Conflict) as raised:
        await make_permission_set(session, ref=created.ref)
    assert created.ref in raised.value.message
    assert raised.value.details["constraint"] == "uq_permission_set_ref"


@pytest.mark.parametrize(
    "ref", ["Upper", "", "spaces here", "ünïcode", "slash/ref", "colon:ref", "tab\tref"]
)
async def test_malformed_ref_is_a_validation_error(session: AsyncSession, ref: str) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_permission_set(session, ref=ref)
    assert raised.value.details["constraint"] == "ck_permission_set_ref_format"


@pytest.mark.parametrize("ref", ["admin", "ops.admin", "a.b.c", "under_score-dash.9", "..", "-"])
async def test_well_formed_refs_are_accepted(session: AsyncSession, ref: str) -> None:
    # Refs are global: prefix with a unique stem so parallel runs never collide.
    full_ref = f"{unique('ok')}{ref}"
    created = await make_permission_set(session, ref=full_ref)
    assert (await permission_set.repository.get_by_key(session, full_ref)).id == created.id


async def test_missing_ref_names_it(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="ref is required"):
        await permission_set.repository.create(session, label="no ref")


async def test_very_long_ref_and_special_characters_round_trip(session: AsyncSession) -> None:
    long_ref = unique("long") + ".x-_" * 500
    description = "Ünïcödé 🚀 'quotes' \"double\" \\ backslash; DROP TABLE permission_set; --"
    created = await make_permission_set(session, ref=long_ref, description=description)
    read = await permission_set.repository.get_by_key(session, long_ref)
    assert read.id == created.id
    assert read.description == description
