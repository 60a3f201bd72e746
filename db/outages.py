"""Telling a database that is gone from a statement that failed, and waiting for it to return.

A worker that has run an action holds its ending only in memory: if PostgreSQL is down at
that moment, giving up would lose the ending (the activity cannot be retried once the
action has run). So writes that must not be lost wait for the database instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

logger = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 5.0


def lost_connection(error: BaseException) -> bool:
    """Whether a statement failed because its connection to PostgreSQL went away (the
    server stopped or restarted mid-statement), not because of the statement itself."""
    return isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)
    )


def is_database_unreachable(error: BaseException) -> bool:
    """Whether `error`, raised by database work, says PostgreSQL could not be reached.

    A refused connect surfaces as OSError (`db.engine.DatabaseUnreachable` is one too),
    a dropped one as `lost_connection`.
    """
    return isinstance(error, OSError | TimeoutError) or lost_connection(error)


async def until_database_answers(
    operation: Callable[[], Awaitable[T]],
    *,
    what: str,
    while_waiting: Callable[[], None] = lambda: None,
) -> T:
    """Run `operation` until it gets through, pausing (and calling `while_waiting`, a
    heartbeat say) while the database is unreachable. Other errors, and cancellation,
    go on at once."""
    pause = FIRST_PAUSE_SECONDS
    warned = False
    while True:
        try:
            return await operation()
        except Exception as error:
            if not is_database_unreachable(error):
                raise
            if not warned:
                logger.warning(
                    "PostgreSQL is unreachable while %s; waiting for it: %s", what, error
                )
                warned = True
        while_waiting()
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
