"""Domain errors, raised anywhere and mapped to HTTP once (in `api.errors`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class AttuneError(Exception):
    """Base of the errors a user can act on; `message` is shown to them as is."""

    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(AttuneError):
    code = "not_found"


class Conflict(AttuneError):
    code = "conflict"


class ValidationError(AttuneError):
    code = "validation_error"


class PermissionDenied(AttuneError):
    code = "permission_denied"


class Unauthenticated(AttuneError):
    code = "unauthenticated"


class PolicyViolation(AttuneError):
    """A policy refused the request (for example a full concurrency queue)."""

    code = "policy_violation"


class PayloadTooLarge(AttuneError):
    """A request body larger than the API accepts."""

    code = "payload_too_large"


class ServiceUnavailable(AttuneError):
    """A service Attune depends on (Temporal, PostgreSQL) did not answer."""

    code = "service_unavailable"


def summarize(problems: Iterable[Mapping[str, str]]) -> str:
    """`field: message; field: message`: several problems in one line of an error message."""
    return "; ".join(f"{problem['field']}: {problem['message']}" for problem in problems)
