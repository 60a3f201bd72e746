"""Identity repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from sqlalchemy import null
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.repositories import api_token, identity, permission_assignment
from tests.db.factories import make_identity, unique
from tests.db.factories_access import make_api_token, make_permission_set


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    login = unique("full")
    created = await identity.repository.create(
        session,
        login=login,
        display_name="Full User",
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        attributes={"email": "full@example.com", "teams": ["ops", {"lead": True}]},
        frozen=True,
    )
    read = await identity.repository.get(session, id=created.id)
    assert read.login == login
    assert read.display_name == "Full User"
    assert read.password_hash == "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
    assert read.attributes == {"email": "full@example.com", "teams": ["ops", {"lead": True}]}
    assert read.frozen is True


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await make_identity(session)
    assert created.id > 0
    assert created.display_name is None
    assert created.password_hash is None
    assert created.attributes == {}
    assert created.frozen is False
    assert created.created == created.updated


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await identity.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"identity {2**62} not found"):
        await identity.repository.get(session, id=2**62)
    missing = unique("missing")
    assert await identity.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound, match=missing) as raised:
        await identity.repository.get_by_key(session, missing)
    assert raised.value.details == {"login": missing}


async def test_find_and_get_by_login(session: AsyncSession) -> None:
    created = await make_identity(session)
    found = await identity.repository.find_by_key(session, created.login)
    assert found is not None
    assert found.id == created.id
    got = await identity.repository.get_by_key(session, created.login)
    assert got.id == created.id


async def test_login_lookup_is_exact(session: AsyncSession) -> None:
    created = await make_identity(session, login=unique("case"))
    assert await identity.repository.find_by_key(session, created.login.upper()) is None
    assert await identity.repository.find_by_key(session, created.login[:-1]) is None


async def test_list_is_ordered_by_login_and_pages(session: AsyncSession) -> None:
    stem = unique("order")
    for suffix in ("c", "a", "b"):
        await make_identity(session, login=f"{stem}-{suffix}")
    listed = await identity.repository.list(session, limit=1000)
    ours = [i.login for i in listed if i.login.startswith(stem)]
    assert ours == [f"{stem}-a", f"{stem}-b", f"{stem}-c"]

    first_page = await identity.repository.list(session, limit=2)
    second_page = await identity.repository.list(session, limit=2, offset=2)
    assert [i.login for i in first_page + second_page] == [i.login for i in listed[:4]]


@pytest.mark.parametrize("frozen", [True, False])
async def test_frozen_flag_round_trips_and_filters(session: AsyncSession, frozen: bool) -> None:
    display_name = unique("shared")
    wanted = await make_identity(session, display_name=display_name, frozen=frozen)
    await make_identity(session, display_name=display_name, frozen=not frozen)
    listed = await identity.repository.list(session, display_name=display_name, frozen=frozen)
    assert [i.id for i in listed] == [wanted.id]
    assert (await identity.repository.get(session, id=wanted.id)).frozen is frozen


async def test_list_filter_without_match_is_empty(session: AsyncSession) -> None:
    assert await identity.repository.list(session, display_name=unique("nobody")) == []


async def test_freeze_and_partial_update(session: AsyncSession) -> None:
    created = await make_identity(session, display_name="Before", attributes={"a": 1})
    updated = await identity.repository.update(
        session, id=created.id, changes={"frozen": True, "display_name": None}
    )
    assert updated.frozen is True
    assert updated.display_name is None
    assert updated.attributes == {"a": 1}
    assert updated.login == created.login


async def test_update_missing_raises_not_found(session: AsyncSession) -> None:
    with pytest.raises(errors.NotFound):
        await identity.repository.update(session, id=2**62, changes={"frozen": True})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_identity(session)
    first_created, first_updated = created.created, created.updated
    assert first_created == first_updated
    await asyncio.sleep(0.01)
    updated = await identity.repository.update(
        session, id=created.id, changes={"display_name": "New"}
    )
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_identity(session)
    assert await identity.repository.delete(session, id=created.id) is True
    assert await identity.repository.find(session, id=created.id) is None
    assert await identity.repository.find_by_key(session, created.login) is None
    assert await identity.repository.delete(session, id=created.id) is False


async def test_deleting_an_identity_deletes_its_tokens_and_assignments(
    session: AsyncSession,
) -> None:
    owner = await make_identity(session)
    token = await make_api_token(session, owner)
    a_set = await make_permission_set(session)
    assignment = await permission_assignment.assign(
        session, identity_id=owner.id, permission_set_id=a_set.id
    )
    await identity.repository.delete(session, id=owner.id)
    assert await api_token.repository.find(session, id=token.id) is None
    assert await permission_assignment.repository.find(session, id=assignment.id) is None


async def test_duplicate_login_is_a_conflict_naming_the_login(session: AsyncSession) -> None:
    created = await make_identity(session)
    with pytest.raises(errors.Conflict) as raised:
        await make_identity(session, login=created.login)
    assert created.login in raised.value.message
    assert raised.value.details["constraint"] == "uq_identity_login"


async def test_empty_login_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="login must not be empty") as raised:
        await make_identity(session, login="")
    assert raised.value.details["constraint"] == "ck_identity_login_not_empty"


async def test_missing_login_names_it(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="login is required"):
        await identity.repository.create(session, display_name="no login")


async def test_sql_null_attributes_are_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="attributes is required"):
        await make_identity(session, attributes=null())


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"nested": {"deeper": {"deepest": [1, 2.5, "three", None, False]}}},
        {"nothing": None, "empty_list": [], "empty_object": {}},
    ],
)
async def test_attributes_json_round_trips(
    session: AsyncSession, attributes: dict[str, object]
) -> None:
    created = await make_identity(session, attributes=attributes)
    read = await identity.repository.get(session, id=created.id)
    assert read.attributes == attributes


async def test_very_long_login_and_special_characters_round_trip(session: AsyncSession) -> None:
    # Random text does not compress: 2,000 characters stay under the btree index row limit.
    long_login = unique("long") + secrets.token_hex(1000)
    display_name = "Ünïcödé 🚀 'quotes' \"double\" \\ backslash; DROP TABLE identity; --"
    created = await make_identity(session, login=long_login, display_name=display_name)
    found = await identity.repository.find_by_key(session, long_login)
    assert found is not None
    assert found.id == created.id
    assert found.display_name == display_name


async def test_login_with_spaces_and_symbols_is_allowed(session: AsyncSession) -> None:
    login = f"{unique('Mixed')} Case@example.com"
    created = await make_identity(session, login=login)
    assert (await identity.repository.get_by_key(session, login)).id == created.id
