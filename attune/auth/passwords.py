"""Passwords of people: argon2id hashes, checked in a thread so the event loop keeps going.

A hash is slow on purpose (tens of milliseconds and 64 MiB each, argon2-cffi's defaults,
RFC 9106's second recommendation), which is what makes a stolen table of hashes expensive
to guess from. Tokens are not passwords: they are 256 random bits and a fast hash suits
them (`attune.auth.tokens`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from attune import errors

MIN_LENGTH = 12
MAX_LENGTH = 1024
"""Bounded so a megabyte of "password" cannot be fed to the hash."""

_hasher = PasswordHasher()
# Checked against when the login is unknown, so an unknown login takes as long as a wrong
# password and the two cannot be told apart by the clock.
_DUMMY_HASH = _hasher.hash("not the password of anyone, ever")


@dataclass(frozen=True)
class Verdict:
    """Whether the password matched, and the hash to store instead when the parameters
    changed since it was made (None: keep the stored one)."""

    matches: bool
    rehashed: str | None = None


def check_rules(password: str, *, field: str = "password") -> None:
    """`ValidationError` naming `field` unless the password is long enough (and not huge)."""
    if len(password) < MIN_LENGTH:
        raise errors.ValidationError(
            f"{field}: must be at least {MIN_LENGTH} characters", details={"field": field}
        )
    if len(password) > MAX_LENGTH:
        raise errors.ValidationError(
            f"{field}: must be at most {MAX_LENGTH} characters", details={"field": field}
        )


async def hash_password(password: str) -> str:
    """The argon2id hash to store for `password` (which must pass `check_rules`)."""
    check_rules(password)
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> Verdict:
    """Check `password` against `stored_hash`; None (no password, unknown login) is checked
    against a dummy hash and never matches, taking the same time as a wrong password."""
    return await asyncio.to_thread(_verify, stored_hash, password)


def _verify(stored_hash: str | None, password: str) -> Verdict:
    try:
        _hasher.verify(stored_hash or _DUMMY_HASH, password[:MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return Verdict(matches=False)
    if stored_hash is None:
        return Verdict(matches=False)
    if _hasher.check_needs_rehash(stored_hash):
        return Verdict(matches=True, rehashed=_hasher.hash(password))
    return Verdict(matches=True)
