"""API token repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.repositories import api_token, identity
from tests.db.factories import make_identity, unique
from tests.db.factories_access import make_api_token

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    owner = await make_identity(session)
    token_hash = unique("sha256-")
    expires_at = datetime(2031, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    last_used_at = datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC)
    created = await api_token.repository.create(
        session,
        identity_id=owner.id,
        token_hash=token_hash,
        label="CI token",
        expires_at=expires_at,
        last_used_at=last_used_at,
        revoked=True,
    )
    read = await api_token.repository.get(session, id=created.id)
    assert read.identity_id == owner.id
    assert read.token_hash == token_hash
    assert read.label == "CI token"
    assert read.expires_at == expires_at
    assert read.last_used_at == last_used_at
    assert read.revoked is True


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await make_api_token(session)
    assert created.id > 0
    assert created.label is None
    assert created.expires_at is None
    assert created.last_used_at is None
    assert created.revoked is False
    assert created.created == created.updated


async def test_timestamps_keep_the_instant_across_time_zones(session: AsyncSession) -> None:
    tokyo = timezone(timedelta(hours=9))
    expires_at = datetime(2031, 1, 1, 9, 0, tzinfo=tokyo)
    created = await make_api_token(session, expires_at=expires_at)
    read = await api_token.repository.get(session, id=created.id)
    assert read.expires_at == datetime(2031, 1, 1, 0, 0, tzinfo=UTC)
    assert read.expires_at is not None
    assert read.expires_at.utcoffset() is not None


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await api_token.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"API token {2**62} not found"):
        await api_token.repository.get(session, id=2**62)
    missing = unique("missing")
    assert await api_token.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound) as raised:
        await api_token.repository.get_by_key(session, missing)
    assert raised.value.details == {"token_hash": missing}


async def test_find_by_token_hash(session: AsyncSession) -> None:
    created = await make_api_token(session)
    found = await api_token.repository.find_by_key(session, created.token_hash)
    assert found is not None
    assert found.id == created.id


async def test_list_is_newest_first_with_keyset_paging(session: AsyncSession) -> None:
    owner = await make_identity(session)
    tokens = [await make_api_token(session, owner) for _ in range(3)]
    listed = await api_token.repository.list(session, limit=1000)
    ids = [t.id for t in listed]
    assert ids == sorted(ids, reverse=True)
    ours = [t.id for t in listed if t.identity_id == owner.id]
    assert ours == [t.id for t in reversed(tokens)]
    older = await api_token.repository.list(session, identity_id=owner.id, before_id=tokens[2].id)
    assert [t.id for t in older] == [tokens[1].id, tokens[0].id]


async def test_list_by_identity_is_newest_first_and_only_its_own(session: AsyncSession) -> None:
    owner = await make_identity(session)
    other = await make_identity(session)
    first = await make_api_token(session, owner)
    await make_api_token(session, other)
    second = await make_api_token(session, owner)
    third = await make_api_token(session, owner, revoked=True)
    listed = await api_token.list_by_identity(session, identity_id=owner.id)
    assert [t.id for t in listed] == [third.id, second.id, first.id]


async def test_list_by_identity_pages_with_before_id_and_limit(session: AsyncSession) -> None:
    owner = await make_identity(session)
    tokens = [await make_api_token(session, owner) for _ in range(4)]
    newest_two = await api_token.list_by_identity(session, identity_id=owner.id, limit=2)
    assert [t.id for t in newest_two] == [tokens[3].id, tokens[2].id]
    rest = await api_token.list_by_identity(
        session, identity_id=owner.id, limit=2, before_id=newest_two[-1].id
    )
    assert [t.id for t in rest] == [tokens[1].id, tokens[0].id]
    assert (
        await api_token.list_by_identity(session, identity_id=owner.id, before_id=tokens[0].id)
        == []
    )


async def test_list_by_identity_without_tokens_is_empty(session: AsyncSession) -> None:
    owner = await make_identity(session)
    assert await api_token.list_by_identity(session, identity_id=owner.id) == []
    assert await api_token.list_by_identity(session, identity_id=2**62) == []


@pytest.mark.parametrize("limit", [0, 1001])
async def test_list_by_identity_refuses_unbounded_limits(session: AsyncSession, limit: int) -> None:
    with pytest.raises(errors.ValidationError, match="limit"):
        await api_token.list_by_identity(session, identity_id=1, limit=limit)


@pytest.mark.parametrize(
    ("expires_at", "revoked", "active"),
    [
        (None, False, True),
        (NOW + timedelta(seconds=1), False, True),
        (NOW + timedelta(days=3650), False, True),
        (NOW, False, False),
        (NOW - timedelta(microseconds=1), False, False),
        (NOW - timedelta(days=1), False, False),
        (None, True, False),
        (NOW + timedelta(days=1), True, False),
    ],
)
async def test_find_active_honours_revocation_and_expiry(
    session: AsyncSession, expires_at: datetime | None, revoked: bool, active: bool
) -> None:
    token = await make_api_token(session, expires_at=expires_at, revoked=revoked)
    found = await api_token.find_active(session, token_hash=token.token_hash, now=NOW)
    if active:
        assert found is not None
        assert found.id == token.id
    else:
        assert found is None


async def test_find_active_unknown_hash_is_none(session: AsyncSession) -> None:
    await make_api_token(session)
    assert await api_token.find_active(session, token_hash=unique("nohash"), now=NOW) is None


async def test_find_active_sees_revocation_made_later(session: AsyncSession) -> None:
    token = await make_api_token(session)
    assert await api_token.find_active(session, token_hash=token.token_hash, now=NOW) is not None
    await api_token.repository.update(session, id=token.id, changes={"revoked": True})
    assert await api_token.find_active(session, token_hash=token.token_hash, now=NOW) is None


async def test_touch_last_used_sets_the_database_now(session: AsyncSession) -> None:
    token = await make_api_token(session)
    assert token.last_used_at is None
    before_updated = token.updated
    await asyncio.sleep(0.01)
    touched = await api_token.touch_last_used(session, id=token.id)
    database_now = await session.scalar(select(func.clock_timestamp()))
    assert touched.id == token.id
    assert touched.last_used_at is not None
    assert database_now is not None
    # The database's clock at the moment of the touch: after the insert, before now.
    assert before_updated < touched.last_used_at <= database_now
    assert touched.updated > before_updated
    # The session's copy is current too, not a stale one.
    stamped = touched.last_used_at
    read = await api_token.repository.get(session, id=token.id)
    assert read.last_used_at == stamped
    assert token.last_used_at == stamped


async def test_touch_last_used_leaves_other_fields_alone(session: AsyncSession) -> None:
    expires_at = datetime(2031, 1, 1, tzinfo=UTC)
    token = await make_api_token(session, label="keep", expires_at=expires_at, revoked=True)
    other = await make_api_token(session)
    touched = await api_token.touch_last_used(session, id=token.id)
    assert touched.label == "keep"
    assert touched.expires_at == expires_at
    assert touched.revoked is True
    assert touched.token_hash == token.token_hash
    assert (await api_token.repository.get(session, id=other.id)).last_used_at is None


async def test_touch_last_used_missing_raises_not_found(session: AsyncSession) -> None:
    with pytest.raises(errors.NotFound, match=f"API token {2**62} not found") as raised:
        await api_token.touch_last_used(session, id=2**62)
    assert raised.value.details == {"id": 2**62}


async def test_partial_update_changes_only_given_fields(session: AsyncSession) -> None:
    token = await make_api_token(session, label="before")
    updated = await api_token.repository.update(
        session, id=token.id, changes={"label": None, "expires_at": NOW}
    )
    assert updated.label is None
    assert updated.expires_at == NOW
    assert updated.revoked is False
    assert updated.token_hash == token.token_hash


async def test_update_missing_raises_not_found(session: AsyncSession) -> None:
    with pytest.raises(errors.NotFound):
        await api_token.repository.update(session, id=2**62, changes={"revoked": True})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    token = await make_api_token(session)
    first_created, first_updated = token.created, token.updated
    assert first_created == first_updated
    await asyncio.sleep(0.01)
    updated = await api_token.repository.update(session, id=token.id, changes={"revoked": True})
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    token = await make_api_token(session)
    assert await api_token.repository.delete(session, id=token.id) is True
    assert await api_token.repository.find(session, id=token.id) is None
    assert await api_token.repository.delete(session, id=token.id) is False


async def test_deleting_the_identity_deletes_its_tokens(session: AsyncSession) -> None:
    owner = await make_identity(session)
    other = await make_identity(session)
    tokens = [await make_api_token(session, owner) for _ in range(2)]
    kept = await make_api_token(session, other)
    await identity.repository.delete(session, id=owner.id)
    for token in tokens:
        assert await api_token.repository.find(session, id=token.id) is None
    assert await api_token.list_by_identity(session, identity_id=owner.id) == []
    assert await api_token.repository.find(session, id=kept.id) is not None


async def test_duplicate_token_hash_is_a_conflict(session: AsyncSession) -> None:
    token = await make_api_token(session)
    with pytest.raises(errors.Conflict) as raised:
        await make_api_token(session, token_hash=token.token_hash)
    assert token.token_hash in raised.value.message
    assert raised.value.details["constraint"] == "uq_api_token_token_hash"


async def test_unknown_identity_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await api_token.repository.create(session, identity_id=2**62, token_hash=unique("h"))
    assert raised.value.details["constraint"] == "fk_api_token_identity_id_identity"


@pytest.mark.parametrize("field", ["identity_id", "token_hash"])
async def test_missing_required_field_names_it(session: AsyncSession, field: str) -> None:
    owner = await make_identity(session)
    values: dict[str, object] = {"identity_id": owner.id, "token_hash": unique("h")}
    del values[field]
    with pytest.raises(errors.ValidationError, match=f"{field} is required"):
        await api_token.repository.create(session, **values)


async def test_very_long_hash_and_special_label_round_trip(session: AsyncSession) -> None:
    long_hash = unique("long") + secrets.token_hex(1000)
    label = "Ünïcödé 🚀 'quotes' \"double\" \\ backslash; DROP TABLE api_token; --"
    token = await make_api_token(session, token_hash=long_hash, label=label)
    found = await api_token.find_active(session, token_hash=long_hash, now=NOW)
    assert found is not None
    assert found.id == token.id
    assert found.label == label
