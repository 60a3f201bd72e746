"""What a key may hold: a JSON value of bounded size, a short description, a sane TTL.

Checked where a value enters (the API, and through it the CLI), so that nothing stored
breaks a later read: the limits of `attune.json_limits`, no NaN or Infinity (PostgreSQL's
jsonb refuses them), and a byte cap, since every template that reads a key loads it whole.
"""

from __future__ import annotations

import json
from typing import Any

from attune import errors
from attune.json_limits import json_problem

MAX_VALUE_BYTES = 64 * 1024
"""The largest value a key holds, as compact UTF-8 JSON."""
MAX_DESCRIPTION_CHARS = 1024
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600
"""Ten years: anything longer is a key that should not expire at all."""


def check_value(value: Any, *, field: str = "value") -> None:
    """Raise `ValidationError` naming `field` (or the part of it) unless a key may hold it."""
    if value is None:
        raise errors.ValidationError(
            f"{field}: a key's value must not be null (delete the key instead)",
            details={"field": field},
        )
    problem = json_problem(value, field=field)
    if problem is not None:
        where, message = problem
        raise errors.ValidationError(f"{where}: {message}", details={"field": where})
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except ValueError:
        raise errors.ValidationError(
            f"{field}: NaN and Infinity are not JSON numbers", details={"field": field}
        ) from None
    if size > MAX_VALUE_BYTES:
        raise errors.ValidationError(
            f"{field}: {size} bytes of JSON, more than the {MAX_VALUE_BYTES} a key holds",
            details={"field": field},
        )


def check_description(description: str, *, field: str = "description") -> None:
    """Raise `ValidationError` naming `field` for text PostgreSQL cannot store."""
    problem = json_problem(description, field=field)
    if problem is not None:
        raise errors.ValidationError(f"{field}: {problem[1]}", details={"field": field})
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise errors.ValidationError(
            f"{field}: at most {MAX_DESCRIPTION_CHARS} characters", details={"field": field}
        )


def check_ttl(ttl_seconds: int | None, *, field: str = "ttl_seconds") -> None:
    """Raise `ValidationError` naming `field` unless None or 1 to `MAX_TTL_SECONDS`."""
    if ttl_seconds is None:
        return
    if isinstance(ttl_seconds, bool) or not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise errors.ValidationError(
            f"{field}: a whole number of seconds from 1 to {MAX_TTL_SECONDS}",
            details={"field": field},
        )
