"""Permission assignment repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Identity, PermissionSet
from db.repositories import identity, permission_assignment, permission_set
from tests.db.factories import make_identity
from tests.db.factories_access import make_permission_set

UNIQUE_PAIR = "uq_permission_assignment_identity_id_permission_set_id"


async def _pair(session: AsyncSession) -> tuple[Identity, PermissionSet]:
    return await make_identity(session), await make_permission_set(session)


async def test_assign_creates_and_reads_back(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    created = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=a_set.id
    )
    assert created.id > 0
    assert created.created == created.updated
    read = await permission_assignment.repository.get(session, id=created.id)
    assert read.identity_id == person.id
    assert read.permission_set_id == a_set.id


async def test_create_through_the_base_repository(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    created = await permission_assignment.repository.create(
        session, identity_id=person.id, permission_set_id=a_set.id
    )
    listed = await permission_assignment.list_by_identity(session, identity_id=person.id)
    assert [a.id for a in listed] == [created.id]


@pytest.mark.parametrize("field", ["identity_id", "permission_set_id"])
async def test_missing_required_field_names_it(session: AsyncSession, field: str) -> None:
    person, a_set = await _pair(session)
    values = {"identity_id": person.id, "permission_set_id": a_set.id}
    del values[field]
    with pytest.raises(errors.ValidationError, match=f"{field} is required"):
        await permission_assignment.repository.create(session, **values)


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await permission_assignment.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"permission assignment {2**62} not found"):
        await permission_assignment.repository.get(session, id=2**62)


async def test_duplicate_assignment_is_a_conflict_naming_the_constraint(
    session: AsyncSession,
) -> None:
    person, a_set = await _pair(session)
    await permission_assignment.assign(session, identity_id=person.id, permission_set_id=a_set.id)
    with pytest.raises(errors.Conflict) as raised:
        await permission_assignment.assign(
            session, identity_id=person.id, permission_set_id=a_set.id
        )
    assert raised.value.details["constraint"] == UNIQUE_PAIR
    assert UNIQUE_PAIR in raised.value.message
    assert f"({person.id}, {a_set.id})" in raised.value.message


async def test_a_set_goes_to_many_identities_and_an_identity_gets_many_sets(
    session: AsyncSession,
) -> None:
    person, a_set = await _pair(session)
    other_person, other_set = await _pair(session)
    pairs = [(person, a_set), (person, other_set), (other_person, a_set)]
    for who, what in pairs:
        await permission_assignment.assign(session, identity_id=who.id, permission_set_id=what.id)
    mine = await permission_assignment.list_by_identity(session, identity_id=person.id)
    assert sorted(a.permission_set_id for a in mine) == sorted([a_set.id, other_set.id])
    theirs = await permission_assignment.list_by_identity(session, identity_id=other_person.id)
    assert [a.permission_set_id for a in theirs] == [a_set.id]


async def test_unknown_identity_is_a_validation_error(session: AsyncSession) -> None:
    a_set = await make_permission_set(session)
    with pytest.raises(errors.ValidationError) as raised:
        await permission_assignment.assign(session, identity_id=2**62, permission_set_id=a_set.id)
    assert raised.value.details["constraint"] == "fk_permission_assignment_identity_id_identity"


async def test_unknown_permission_set_is_a_validation_error(session: AsyncSession) -> None:
    person = await make_identity(session)
    with pytest.raises(errors.ValidationError) as raised:
        await permission_assignment.assign(session, identity_id=person.id, permission_set_id=2**62)
    assert (
        raised.value.details["constraint"]
        == "fk_permission_assignment_permission_set_id_permission_set"
    )


async def test_unassign_says_whether_there_was_an_assignment(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    created = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=a_set.id
    )
    assert (
        await permission_assignment.unassign(
            session, identity_id=person.id, permission_set_id=a_set.id
        )
        is True
    )
    assert await permission_assignment.repository.find(session, id=created.id) is None
    assert (
        await permission_assignment.unassign(
            session, identity_id=person.id, permission_set_id=a_set.id
        )
        is False
    )


async def test_unassign_never_assigned_is_false(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    assert (
        await permission_assignment.unassign(
            session, identity_id=person.id, permission_set_id=a_set.id
        )
        is False
    )
    assert (
        await permission_assignment.unassign(session, identity_id=2**62, permission_set_id=2**62)
        is False
    )


async def test_unassign_removes_only_that_pair(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    other_person, other_set = await _pair(session)
    keep_other_set = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=other_set.id
    )
    keep_other_person = await permission_assignment.assign(
        session, identity_id=other_person.id, permission_set_id=a_set.id
    )
    await permission_assignment.assign(session, identity_id=person.id, permission_set_id=a_set.id)
    await permission_assignment.unassign(session, identity_id=person.id, permission_set_id=a_set.id)
    mine = await permission_assignment.list_by_identity(session, identity_id=person.id)
    assert [a.id for a in mine] == [keep_other_set.id]
    theirs = await permission_assignment.list_by_identity(session, identity_id=other_person.id)
    assert [a.id for a in theirs] == [keep_other_person.id]
    # The set itself stays.
    assert await permission_set.repository.find(session, id=a_set.id) is not None


async def test_reassign_after_unassign_works(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    first = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=a_set.id
    )
    await permission_assignment.unassign(session, identity_id=person.id, permission_set_id=a_set.id)
    again = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=a_set.id
    )
    assert again.id != first.id


async def test_list_by_identity_is_ordered_by_permission_set(session: AsyncSession) -> None:
    person = await make_identity(session)
    sets = [await make_permission_set(session) for _ in range(3)]
    # Assigned newest set first: the list must still follow the set ids.
    for a_set in reversed(sets):
        await permission_assignment.assign(
            session, identity_id=person.id, permission_set_id=a_set.id
        )
    listed = await permission_assignment.list_by_identity(session, identity_id=person.id)
    assert [a.permission_set_id for a in listed] == [s.id for s in sets]
    paged = await permission_assignment.list_by_identity(
        session, identity_id=person.id, limit=1, offset=1
    )
    assert [a.permission_set_id for a in paged] == [sets[1].id]


async def test_list_by_identity_without_assignments_is_empty(session: AsyncSession) -> None:
    person = await make_identity(session)
    assert await permission_assignment.list_by_identity(session, identity_id=person.id) == []
    assert await permission_assignment.list_by_identity(session, identity_id=2**62) == []


async def test_list_is_ordered_by_identity_then_set(session: AsyncSession) -> None:
    people = [await make_identity(session) for _ in range(2)]
    sets = [await make_permission_set(session) for _ in range(2)]
    for who in reversed(people):
        for what in reversed(sets):
            await permission_assignment.assign(
                session, identity_id=who.id, permission_set_id=what.id
            )
    ours = {p.id for p in people}
    listed = await permission_assignment.repository.list(session, limit=1000)
    pairs = [(a.identity_id, a.permission_set_id) for a in listed if a.identity_id in ours]
    assert pairs == [(who.id, what.id) for who in people for what in sets]


async def test_update_moves_the_assignment_and_advances_updated(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    other_set = await make_permission_set(session)
    created = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=a_set.id
    )
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await permission_assignment.repository.update(
        session, id=created.id, changes={"permission_set_id": other_set.id}
    )
    assert updated.permission_set_id == other_set.id
    assert updated.identity_id == person.id
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_update_missing_raises_not_found(session: AsyncSession) -> None:
    with pytest.raises(errors.NotFound):
        await permission_assignment.repository.update(
            session, id=2**62, changes={"permission_set_id": 1}
        )


async def test_update_into_a_duplicate_is_a_conflict(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    other_set = await make_permission_set(session)
    await permission_assignment.assign(session, identity_id=person.id, permission_set_id=a_set.id)
    second = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=other_set.id
    )
    with pytest.raises(errors.Conflict) as raised:
        await permission_assignment.repository.update(
            session, id=second.id, changes={"permission_set_id": a_set.id}
        )
    assert raised.value.details["constraint"] == UNIQUE_PAIR


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    created = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=a_set.id
    )
    assert await permission_assignment.repository.delete(session, id=created.id) is True
    assert await permission_assignment.repository.find(session, id=created.id) is None
    assert await permission_assignment.repository.delete(session, id=created.id) is False


async def test_deleting_the_identity_deletes_its_assignments(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    other_person = await make_identity(session)
    gone = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=a_set.id
    )
    kept = await permission_assignment.assign(
        session, identity_id=other_person.id, permission_set_id=a_set.id
    )
    await identity.repository.delete(session, id=person.id)
    assert await permission_assignment.repository.find(session, id=gone.id) is None
    assert await permission_assignment.repository.find(session, id=kept.id) is not None
    assert await permission_set.repository.find(session, id=a_set.id) is not None


async def test_deleting_the_set_deletes_its_assignments(session: AsyncSession) -> None:
    person, a_set = await _pair(session)
    other_set = await make_permission_set(session)
    gone = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=a_set.id
    )
    kept = await permission_assignment.assign(
        session, identity_id=person.id, permission_set_id=other_set.id
    )
    await permission_set.repository.delete(session, id=a_set.id)
    assert await permission_assignment.repository.find(session, id=gone.id) is None
    listed = await permission_assignment.list_by_identity(session, identity_id=person.id)
    assert [a.id for a in listed] == [kept.id]
    assert await identity.repository.find(session, id=person.id) is not None
