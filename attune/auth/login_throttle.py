"""Slowing down password guessing, the same in every API process: failures live in
PostgreSQL (`login_failure`), counted per login and per client address.

After `LOGIN_LIMIT` failures of one login within `WINDOW` (or `SOURCE_LIMIT` from one
address, higher since many people may share an address), each further attempt must wait
`BASE_DELAY` after the last failure, doubling with each failure, up to `MAX_DELAY`. A
success clears its login's failures (not its address's: one valid account must not
reset a guesser's count against the others).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import LoginFailure

WINDOW = timedelta(minutes=15)
LOGIN_LIMIT = 5
SOURCE_LIMIT = 100
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)


async def check(session: AsyncSession, *, login: str, source: str | None) -> None:
    """`PolicyViolation` (429) saying how long to wait, while this login or address must."""
    await _check_one(session, LoginFailure.login == login, LOGIN_LIMIT, "this login")
    if source is not None:
        await _check_one(session, LoginFailure.source == source, SOURCE_LIMIT, "this address")


async def record_failure(session: AsyncSession, *, login: str, source: str | None) -> None:
    """Count a failed attempt, and forget this login's failures that left the window."""
    await session.execute(
        delete(LoginFailure).where(
            LoginFailure.login == login, LoginFailure.created < func.now() - WINDOW
        )
    )
    session.add(LoginFailure(login=login, source=source))
    await session.flush()


async def clear(session: AsyncSession, *, login: str) -> None:
    """Forget the login's failures: it just logged in."""
    await session.execute(delete(LoginFailure).where(LoginFailure.login == login))


async def _check_one(
    session: AsyncSession, which: ColumnElement[bool], limit: int, what: str
) -> None:
    # The database's clock, not this process's: every API process must agree on the wait.
    row = (
        await session.execute(
            select(func.count(), func.max(LoginFailure.created), func.now()).where(
                which, LoginFailure.created > func.now() - WINDOW
            )
        )
    ).one()
    failures, last, now = int(row[0]), row[1], row[2]
    if failures < limit or last is None:
        return
    wait = _delay(failures - limit)
    retry_at: datetime = last + wait
    if now < retry_at:
        seconds = math.ceil((retry_at - now).total_seconds())
        raise errors.PolicyViolation(
            f"too many failed logins from {what}; retry after {seconds} seconds",
            details={"retry_after_seconds": seconds},
        )


def _delay(beyond: int) -> timedelta:
    return min(MAX_DELAY, BASE_DELAY * (1 << min(beyond, 16)))
