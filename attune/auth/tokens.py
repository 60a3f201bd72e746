"""API tokens: made here, stored only as a hash, and turned back into an identity per request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import ApiToken, Identity
from db.repositories import api_token, identity

# Recognisable in a leaked config file or a secret scanner's rules.
TOKEN_PREFIX = "att_"
TOKEN_BYTES = 32
# A busy client would otherwise write a row on every request; a minute is precise enough
# to tell an operator which tokens are still in use.
LAST_USED_RESOLUTION = timedelta(minutes=1)
INVALID_TOKEN = "invalid or expired token"


def new_token() -> str:
    """A fresh random token (256 bits) with the `att_` prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up.

    A fast hash is right here: tokens are 256 random bits, so there is nothing to guess and a
    slow password hash (bcrypt, argon2) would only add latency to every request. Being
    deterministic, the hash is also the lookup key, which keeps the lookup free of timing
    leaks about the stored value (an attacker cannot steer the hash's prefix).
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def issue_token(
    session: AsyncSession,
    *,
    identity_id: int,
    label: str | None = None,
    expires_at: datetime | None = None,
    kind: str = "api",
) -> str:
    """Store a new token of the identity and return it in plain text; flushes, never commits.

    The plain token exists only in the return value: show it once, it cannot be read back.
    """
    return (
        await issue_token_row(
            session, identity_id=identity_id, label=label, expires_at=expires_at, kind=kind
        )
    )[1]


async def issue_token_row(
    session: AsyncSession,
    *,
    identity_id: int,
    label: str | None = None,
    expires_at: datetime | None = None,
    kind: str = "api",
) -> tuple[ApiToken, str]:
    """As `issue_token`, with the stored row (its id, created) beside the plain token."""
    token = new_token()
    row = await api_token.repository.create(
        session,
        identity_id=identity_id,
        token_hash=hash_token(token),
        label=label,
        expires_at=expires_at,
        kind=kind,
    )
    return row, token


async def authenticate(session: AsyncSession, token: str) -> Identity:
    """The identity the token belongs to; `Unauthenticated` unless it is usable right now.

    Unknown, revoked and expired tokens and frozen identities all get the same message, so
    a caller learns nothing about which tokens exist. May update `last_used_at` (at most once
    per `LAST_USED_RESOLUTION`); the caller commits.
    """
    now = datetime.now(UTC)
    found = await api_token.find_active(session, token_hash=hash_token(token), now=now)
    if found is None:
        raise errors.Unauthenticated(INVALID_TOKEN)
    owner = await identity.repository.find(session, id=found.identity_id)
    if owner is None or owner.frozen:
        raise errors.Unauthenticated(INVALID_TOKEN)
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION:
        await api_token.touch_last_used(session, id=found.id)
    return owner
