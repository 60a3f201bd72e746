"""The error answers a route declares in the OpenAPI document, all in the one error shape.

Clients generate code and tests from the document, so it must list every status a route
can answer with; `errors_of(404, 409)` declares those, and each router declares the ones
all its routes share (401 from authentication, 422 from request checks, 503 when a
dependency is down).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

DESCRIPTIONS = {
    400: "Bad request.",
    401: "No valid credentials: a bearer token (or, for webhooks, a fresh signature).",
    403: "The caller may not do this.",
    404: "No such item.",
    409: "The request conflicts with the item's state (disabled, ended, taken, replayed).",
    413: "The request body is larger than the route accepts.",
    422: "A parameter or a field of the body is invalid; `details.field` names it.",
    429: "A policy refused it: the action's queue is full, or every slot is taken.",
    503: "PostgreSQL or Temporal did not answer; try again.",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: not_found, validation_error, ...")
    message: str = Field(description="What went wrong, for a person.")
    details: dict[str, Any] = Field(description="The field at fault and related ids.")


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    error: ErrorDetail


def errors_of(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries declaring these error statuses."""
    return {
        status: {"model": ErrorBody, "description": DESCRIPTIONS[status]} for status in statuses
    }


AUTHENTICATED_ERRORS = errors_of(401, 422, 503)
"""What any authenticated route may answer: 401, 422 (a bad parameter, a NUL character in
the path or query) and 503."""
