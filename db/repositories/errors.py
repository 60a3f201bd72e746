"""Turning PostgreSQL's constraint violations into domain errors a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError

from attune import errors

# Messages for constraint kinds, keyed by the name after `ck_<table>_`.
CHECK_MESSAGES = {
    "ref_format": "ref must be lowercase `pack.name` (letters, digits, '_' or '-'; "
    "the pack part without dots)",
    "ref_parts": "ref must equal `pack_ref.name`, with no dots in pack_ref",
    "version_semver": "version must be semantic (MAJOR.MINOR.PATCH, e.g. 1.2.0)",
    "port_range": "port must be between 1 and 65535",
    "stream": "stream must be stdout or stderr",
    "timeout_positive": "timeout must be greater than 0",
    "login_not_empty": "login must not be empty",
    "name_not_empty": "name must not be empty",
    "trigger_type": "type must be webhook, custom or timer",
    "poll_interval_positive": "poll interval must be greater than 0",
    "concurrency_limit_positive": "concurrency limit must be at least 1",
    "max_queue_length_nonnegative": "max queue length must not be negative",
    "on_full": "on_full must be reject",
    "method": "method must be enqueue or cancel",
    "rate_limit_positive": "rate limit must be a finite number greater than 0",
    "queue_length_nonnegative": "queue length must not be negative",
    "active_count_nonnegative": "active count must not be negative",
    "max_concurrent_nonnegative": "max concurrent must not be negative",
    "kind": "a token's kind must be api or session",
    "size_bytes": "size must not be negative",
}

# Where one kind of rule reads differently per table.
CONSTRAINT_MESSAGES = {
    "ck_pack_ref_format": "ref must be lowercase letters, digits, '_' or '-' (no dots)",
    "ck_runtime_ref_format": "ref must be lowercase `pack.action.name` or `pack.sensor.name`",
    "ck_permission_set_ref_format": "ref must be lowercase letters, digits, '_', '-' or '.'",
}

UNIQUE_VIOLATION = "23505"
CHECK_VIOLATION = "23514"
FOREIGN_KEY_VIOLATION = "23503"
NOT_NULL_VIOLATION = "23502"
DATA_EXCEPTION_CLASS = "22"
PROGRAM_LIMIT_EXCEEDED = "54000"


@contextmanager
def domain_errors(noun: str) -> Iterator[None]:
    """Re-raise a database error inside as the domain error it means, when it means one."""
    try:
        yield
    except DBAPIError as error:
        domain_error = translate(error, noun)
        if domain_error is None:
            raise
        raise domain_error from error


def translate(error: DBAPIError, noun: str) -> errors.AttuneError | None:
    """The domain error for a database error, or None when it is not the user's doing."""
    sqlstate = str(getattr(error.orig, "sqlstate", "") or "")
    cause = error.orig.__cause__ if error.orig is not None else None
    constraint = getattr(cause, "constraint_name", None)
    table = getattr(cause, "table_name", None) or noun
    details: dict[str, Any] = {"constraint": constraint} if constraint else {}

    if sqlstate == UNIQUE_VIOLATION:
        detail = getattr(cause, "detail", None) or ""
        return errors.Conflict(
            f"a {noun} with the same {_unique_columns(detail)} already exists ({constraint})",
            details=details,
        )
    if sqlstate == CHECK_VIOLATION:
        kind = (constraint or "").removeprefix(f"ck_{table}_")
        reason = CONSTRAINT_MESSAGES.get(constraint or "") or CHECK_MESSAGES.get(
            kind, "a value breaks a rule of the table"
        )
        return errors.ValidationError(f"invalid {noun}: {reason} ({constraint})", details=details)
    if sqlstate == FOREIGN_KEY_VIOLATION:
        detail = getattr(cause, "detail", None) or "it refers to a record that does not exist"
        return errors.ValidationError(f"invalid {noun}: {detail} ({constraint})", details=details)
    if sqlstate == NOT_NULL_VIOLATION:
        column = getattr(cause, "column_name", None)
        return errors.ValidationError(
            f"invalid {noun}: {column} is required", details={"field": column}
        )
    if sqlstate == PROGRAM_LIMIT_EXCEEDED:
        # In practice: a unique text value too large for its index entry (about 2.7 kB).
        message = str(cause or error.orig).splitlines()[0]
        return errors.ValidationError(
            f"invalid {noun}: a value is too long ({message})", details={"sqlstate": sqlstate}
        )
    if sqlstate.startswith(DATA_EXCEPTION_CLASS):
        message = str(cause or error.orig).splitlines()[0]
        return errors.ValidationError(f"invalid {noun}: {message}", details={"sqlstate": sqlstate})
    return None


def _unique_columns(detail: str) -> str:
    """`Key (ref)=(core.echo) already exists.` -> `ref (core.echo)`."""
    if detail.startswith("Key (") and ")=(" in detail:
        columns, _, rest = detail.removeprefix("Key (").partition(")=(")
        value = rest.rpartition(")")[0]
        return f"{columns} ({value})"
    return "unique fields"
