"""Password login: a login and password in, a session token with an expiry out.

Unknown login, wrong password, no password set and a disabled identity all get the same
401 and take about the same time (an unknown login is checked against a dummy hash), so
a caller learns nothing about which logins exist. Every attempt is audited; failures
are counted to slow down guessing (`attune.auth.login_throttle`). A failed attempt's
rows must be committed although it fails: `log_in` returns the refusal, the route
commits and then raises it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.auth import audit_trail, login_throttle
from attune.auth.identities import LOGIN_PATTERN
from attune.auth.passwords import verify_password
from attune.auth.tokens import issue_token_row
from db.repositories import identity as identities

WRONG_CREDENTIALS = "wrong login or password"
SESSION_LABEL = "session"
SESSION_KIND = "session"


@dataclass(frozen=True)
class Outcome:
    """A session token and when it expires, or the refusal to raise once committed."""

    token: str | None = None
    expires_at: datetime | None = None
    refusal: errors.AttuneError | None = None


async def log_in(
    session: AsyncSession, *, login: str, password: str, source: str | None, ttl_seconds: int
) -> Outcome:
    """Check the password and, when it matches an enabled identity, issue a session token."""
    try:
        await login_throttle.check(session, login=login, source=source)
    except errors.PolicyViolation as refusal:
        await _audit_failure(session, login, source, "throttled")
        return Outcome(refusal=refusal)
    found = await identities.repository.find_by_key(session, login) if _plausible(login) else None
    verdict = await verify_password(found.password_hash if found else None, password)
    if found is None or not verdict.matches or found.frozen:
        reason = (
            "unknown login"
            if found is None
            else "disabled"
            if verdict.matches
            else "wrong password"
        )
        await login_throttle.record_failure(session, login=login, source=source)
        await _audit_failure(session, login, source, reason)
        return Outcome(refusal=errors.Unauthenticated(WRONG_CREDENTIALS))
    if verdict.rehashed is not None:
        await identities.repository.update(
            session, id=found.id, changes={"password_hash": verdict.rehashed}
        )
    await login_throttle.clear(session, login=login)
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
    row, token = await issue_token_row(
        session, identity_id=found.id, label=SESSION_LABEL, expires_at=expires_at, kind=SESSION_KIND
    )
    await audit_trail.record(
        session,
        action=audit_trail.LOGIN_SUCCESS,
        actor=login,
        target=login,
        details={"token_id": row.id, "expires_at": expires_at.isoformat()},
        source=source,
    )
    return Outcome(token=token, expires_at=expires_at)


def _plausible(login: str) -> bool:
    # A login that could never exist is not looked up, but still costs a hash check.
    return LOGIN_PATTERN.fullmatch(login) is not None


async def _audit_failure(
    session: AsyncSession, login: str, source: str | None, reason: str
) -> None:
    await audit_trail.record(
        session,
        action=audit_trail.LOGIN_FAILURE,
        actor=None,
        target=login,
        details={"reason": reason},
        source=source,
    )
