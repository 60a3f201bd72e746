"""API tokens against the real PostgreSQL: issued hashed, authenticated, stamped sparingly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.auth.tokens import (
    INVALID_TOKEN,
    TOKEN_PREFIX,
    authenticate,
    hash_token,
    issue_token,
    new_token,
)
from db.models import ApiToken
from db.repositories import api_token, identity
from tests.db.factories import make_identity


async def stored(session: AsyncSession, token: str) -> ApiToken:
    found = await api_token.repository.find_by_key(session, hash_token(token))
    assert found is not None
    return found


def test_new_tokens_are_prefixed_and_distinct() -> None:
    first, second = new_token(), new_token()
    assert first.startswith(TOKEN_PREFIX)
    assert len(first) > len(TOKEN_PREFIX) + 40
    assert first != second


def test_hash_is_sha256_hex_and_deterministic() -> None:
    token = new_token()
    assert hash_token(token) == hash_token(token)
    assert len(hash_token(token)) == 64
    assert hash_token(token) != hash_token(new_token())


async def test_issue_stores_the_hash_never_the_token(session: AsyncSession) -> None:
    owner = await make_identity(session)
    expires_at = datetime(2040, 1, 1, tzinfo=UTC)
    token = await issue_token(session, identity_id=owner.id, label="ci", expires_at=expires_at)
    [row] = await api_token.list_by_identity(session, identity_id=owner.id)
    assert row.token_hash == hash_token(token)
    assert (row.label, row.expires_at, row.revoked) == ("ci", expires_at, False)
    assert token not in {str(value) for value in vars(row).values()}


async def test_authenticate_returns_the_owner(session: AsyncSession) -> None:
    owner = await make_identity(session)
    token = await issue_token(session, identity_id=owner.id)
    assert (await authenticate(session, token)).id == owner.id


async def test_unknown_token_is_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.Unauthenticated, match=INVALID_TOKEN):
        await authenticate(session, new_token())


async def test_revoked_token_is_refused(session: AsyncSession) -> None:
    owner = await make_identity(session)
    token = await issue_token(session, identity_id=owner.id)
    row = await stored(session, token)
    await api_token.repository.update(session, id=row.id, changes={"revoked": True})
    with pytest.raises(errors.Unauthenticated, match=INVALID_TOKEN):
        await authenticate(session, token)


async def test_expired_token_is_refused(session: AsyncSession) -> None:
    owner = await make_identity(session)
    past = datetime.now(UTC) - timedelta(seconds=1)
    token = await issue_token(session, identity_id=owner.id, expires_at=past)
    with pytest.raises(errors.Unauthenticated, match=INVALID_TOKEN):
        await authenticate(session, token)


async def test_token_of_a_frozen_identity_is_refused(session: AsyncSession) -> None:
    owner = await make_identity(session)
    token = await issue_token(session, identity_id=owner.id)
    await identity.repository.update(session, id=owner.id, changes={"frozen": True})
    with pytest.raises(errors.Unauthenticated, match=INVALID_TOKEN):
        await authenticate(session, token)


async def test_last_used_is_stamped_at_most_once_a_minute(session: AsyncSession) -> None:
    owner = await make_identity(session)
    token = await issue_token(session, identity_id=owner.id)
    assert (await stored(session, token)).last_used_at is None

    await authenticate(session, token)
    first = (await stored(session, token)).last_used_at
    assert first is not None

    await authenticate(session, token)
    assert (await stored(session, token)).last_used_at == first

    row = await stored(session, token)
    long_ago = datetime.now(UTC) - timedelta(minutes=2)
    await api_token.repository.update(session, id=row.id, changes={"last_used_at": long_ago})
    await authenticate(session, token)
    restamped = (await stored(session, token)).last_used_at
    assert restamped is not None
    assert restamped > long_ago + timedelta(minutes=1)
