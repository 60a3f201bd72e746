"""The admin token file: written once with mode 0600, kept while it works, replaced when not.

Each test uses a login of its own instead of `admin`, so the tests share the database freely.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from attune import errors
from attune.auth.admin import ADMIN_TOKEN_FILE, ADMIN_TOKEN_LABEL, ensure_admin_token
from attune.auth.tokens import TOKEN_PREFIX, authenticate, hash_token, issue_token
from db.engine import create_session_factory
from db.repositories import api_token, identity
from tests.db.factories import make_identity, unique


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
def login() -> str:
    return unique("admin")


async def login_of(sessions: async_sessionmaker[AsyncSession], token: str) -> str:
    async with sessions() as session, session.begin():
        return (await authenticate(session, token)).login


def token_in(path: Path) -> str:
    return path.read_text(encoding="ascii").removesuffix("\n")


async def test_first_call_creates_identity_token_and_private_file(
    sessions: async_sessionmaker[AsyncSession], login: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "not" / "yet" / "there"
    result = await ensure_admin_token(sessions, data_dir, login=login)
    assert result.created
    assert result.path == data_dir / ADMIN_TOKEN_FILE
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    token = token_in(result.path)
    # Only the token and a newline, so `$(cat admin-token)` works as is.
    assert result.path.read_text(encoding="ascii") == token + "\n"
    assert token.startswith(TOKEN_PREFIX)
    assert token.strip() == token
    assert await login_of(sessions, token) == login
    async with sessions() as session:
        row = await api_token.repository.get_by_key(session, hash_token(token))
        assert row.label == ADMIN_TOKEN_LABEL
    assert [p.name for p in data_dir.iterdir()] == [ADMIN_TOKEN_FILE]


async def test_second_call_keeps_the_same_token(
    sessions: async_sessionmaker[AsyncSession], login: str, tmp_path: Path
) -> None:
    first = await ensure_admin_token(sessions, tmp_path, login=login)
    token = token_in(first.path)
    again = await ensure_admin_token(sessions, tmp_path, login=login)
    assert not again.created
    assert again.path == first.path
    assert token_in(again.path) == token
    async with sessions() as session:
        owner = await identity.repository.get_by_key(session, login)
        assert len(await api_token.list_by_identity(session, identity_id=owner.id)) == 1


async def test_a_revoked_token_in_the_file_is_replaced(
    sessions: async_sessionmaker[AsyncSession], login: str, tmp_path: Path
) -> None:
    first = await ensure_admin_token(sessions, tmp_path, login=login)
    stale = token_in(first.path)
    async with sessions() as session, session.begin():
        row = await api_token.repository.get_by_key(session, hash_token(stale))
        await api_token.repository.update(session, id=row.id, changes={"revoked": True})

    replaced = await ensure_admin_token(sessions, tmp_path, login=login)
    assert replaced.created
    fresh = token_in(replaced.path)
    assert fresh != stale
    assert stat.S_IMODE(replaced.path.stat().st_mode) == 0o600
    assert await login_of(sessions, fresh) == login
    async with sessions() as session:
        owner = await identity.repository.get_by_key(session, login)
        assert len(await api_token.list_by_identity(session, identity_id=owner.id)) == 2


@pytest.mark.parametrize("content", ["att_unknown\n", "", "\n", b"\xff\xfe"])
async def test_a_file_without_a_working_token_is_replaced(
    sessions: async_sessionmaker[AsyncSession], login: str, tmp_path: Path, content: str | bytes
) -> None:
    path = tmp_path / ADMIN_TOKEN_FILE
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="ascii")
    result = await ensure_admin_token(sessions, tmp_path, login=login)
    assert result.created
    assert await login_of(sessions, token_in(path)) == login


async def test_a_token_of_another_identity_in_the_file_is_replaced(
    sessions: async_sessionmaker[AsyncSession], login: str, tmp_path: Path
) -> None:
    async with sessions() as session, session.begin():
        someone = await make_identity(session)
        theirs = await issue_token(session, identity_id=someone.id)
    (tmp_path / ADMIN_TOKEN_FILE).write_text(theirs + "\n", encoding="ascii")
    result = await ensure_admin_token(sessions, tmp_path, login=login)
    assert result.created
    assert await login_of(sessions, token_in(result.path)) == login


async def test_an_existing_identity_is_reused(
    sessions: async_sessionmaker[AsyncSession], login: str, tmp_path: Path
) -> None:
    async with sessions() as session, session.begin():
        existing = await make_identity(session, login=login, display_name="Ops")
    result = await ensure_admin_token(sessions, tmp_path, login=login)
    async with sessions() as session:
        assert (await authenticate(session, token_in(result.path))).id == existing.id


async def test_a_frozen_identity_gets_no_token(
    sessions: async_sessionmaker[AsyncSession], login: str, tmp_path: Path
) -> None:
    async with sessions() as session, session.begin():
        await make_identity(session, login=login, frozen=True)
    with pytest.raises(errors.Conflict, match="frozen"):
        await ensure_admin_token(sessions, tmp_path, login=login)
    assert not (tmp_path / ADMIN_TOKEN_FILE).exists()
