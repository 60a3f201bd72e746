"""The admin identity and its token file, made by the first `attune up` and kept valid after."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attune import errors
from attune.auth.tokens import authenticate, issue_token
from db.models import Identity, PermissionAssignment
from db.repositories import identity, permission_set

ADMIN_LOGIN = "admin"
ADMIN_TOKEN_FILE = "admin-token"
ADMIN_TOKEN_LABEL = "admin-token"
ADMIN_SET = "admin"


@dataclass(frozen=True)
class AdminToken:
    """Where the admin token is, and whether this call wrote it (first start or a stale file)."""

    path: Path
    created: bool


async def ensure_admin_token(
    sessions: async_sessionmaker[AsyncSession], data_dir: Path, *, login: str = ADMIN_LOGIN
) -> AdminToken:
    """Make sure `data_dir/admin-token` holds a working token of the admin identity.

    A file whose token authenticates as `login` is left alone, so this is safe on every
    start. Otherwise the identity is created if missing, a token issued and committed, and
    only then the file (re)written, mode 0600 (the identity holds the built-in `admin`
    permission set from then on): the file never names a token the database does
    not know yet. Raises `Conflict` when the identity is frozen, rather than writing a token
    that could not log in.
    """
    path = data_dir / ADMIN_TOKEN_FILE
    existing = _read_token(path)
    if existing is not None and await _authenticates_as(sessions, existing, login):
        return AdminToken(path=path, created=False)
    async with sessions() as session, session.begin():
        admin = await _find_or_create_identity(session, login)
        if admin.frozen:
            raise errors.Conflict(
                f"identity {login!r} is frozen, so no admin token was written to {path}; "
                "unfreeze it to get a new one",
                details={"login": login},
            )
        token = await issue_token(session, identity_id=admin.id, label=ADMIN_TOKEN_LABEL)
    write_private(path, token + "\n")
    return AdminToken(path=path, created=True)


async def _authenticates_as(
    sessions: async_sessionmaker[AsyncSession], token: str, login: str
) -> bool:
    async with sessions() as session, session.begin():
        try:
            owner = await authenticate(session, token)
        except errors.Unauthenticated:
            return False
    # A token of some other identity pasted into the file is not the admin token.
    return owner.login == login


async def _find_or_create_identity(session: AsyncSession, login: str) -> Identity:
    found = await identity.repository.find_by_key(session, login)
    if found is None:
        try:
            # A savepoint: when another process starting at the same moment wins the insert,
            # the unique violation undoes only this statement and its identity is used instead.
            async with session.begin_nested():
                found = await identity.repository.create(
                    session, login=login, display_name="Administrator"
                )
        except errors.Conflict:
            found = await identity.repository.get_by_key(session, login)
    await _hold_admin_set(session, found)
    return found


async def _hold_admin_set(session: AsyncSession, admin: Identity) -> None:
    """Give the identity the built-in `admin` set (migration 0009 seeds it), once."""
    admin_set = await permission_set.repository.find_by_key(session, ADMIN_SET)
    if admin_set is None:
        return
    await session.execute(
        insert(PermissionAssignment)
        .values(identity_id=admin.id, permission_set_id=admin_set.id)
        .on_conflict_do_nothing()
    )


def _read_token(path: Path) -> str | None:
    """The token in the file, or None when there is no file or nothing usable in it."""
    try:
        text = path.read_text(encoding="ascii")
    except (FileNotFoundError, UnicodeDecodeError):
        # Missing or garbled: either way there is no token to keep, so write a fresh one.
        return None
    return text.strip() or None


def write_private(path: Path, content: str) -> None:
    """Replace `path` with `content`, readable by the owner only, all at once.

    mkstemp creates the file with mode 0600 and O_EXCL, so the token is never readable by
    others, not even for a moment; os.replace then swaps it in atomically, so a crash leaves
    either the old file or the new one, never half a token.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    # Makes the rename itself survive a power cut; not every platform can open a directory.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
