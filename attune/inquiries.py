"""Inquiry answers: who may answer, what fits, and the names of a refusal.

Pure and deterministic, because the workflow's update validator runs this: a validator
must give the same verdict every time it is replayed, so no I/O and no clock. The API
uses the same names to turn a refusal back into an HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from attune.packs.json_schema import dotted, instance_violations

UPDATE_PREFIX = "attune.respond_inquiry"


def update_name(inquiry_id: int) -> str:
    """The Temporal Update that answers this inquiry: one name per inquiry, so a workflow
    may wait on several at once and the Web UI shows which one an answer went to."""
    return f"{UPDATE_PREFIX}.{inquiry_id}"


class Refusal(StrEnum):
    """Why an answer was refused: the `type` of the validator's ApplicationError."""

    INVALID = "InquiryResponseInvalid"  # HTTP 422: the answer breaks the schema
    NOT_ASSIGNEE = "InquiryResponderNotAssignee"  # HTTP 403: not one of the assignees
    CLOSED = "InquiryClosed"  # HTTP 409: answered, timed out or cancelled already


CLOSED_BECAUSE = {
    "responded": "it has been answered",
    "timeout": "it has expired",
    "cancelled": "it was cancelled",
}


def closed_message(inquiry_id: int, status: str) -> str:
    """Why an inquiry takes no more answers, in the words of its status."""
    why = CLOSED_BECAUSE.get(status, f"it is {status}")
    return f"inquiry {inquiry_id} takes no more answers: {why}"


@dataclass
class InquiryAnswer:
    """The argument of the answering Update: the answer and who gives it.

    The API sets `responder` from the caller's token; the workflow cannot look it up,
    since a validator may not do I/O.
    """

    responder: str
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class InquiryAnswered:
    """The result of an accepted answer, once it is recorded."""

    inquiry_id: int
    status: str
    responder: str


def may_answer(assignees: Sequence[str], login: str) -> bool:
    """Whether `login` may answer: an empty assignee list lets any identity answer."""
    return not assignees or login in assignees


def response_problems(schema: Mapping[str, Any], response: Any) -> list[dict[str, str]]:
    """Every way `response` breaks `schema`, as `{field, message}` naming `response.<path>`.

    A missing required property is named by itself (`response.approve`), not by the
    object that lacks it, so the person answering sees which field to add.
    """
    if not isinstance(response, Mapping):
        return [{"field": "response", "message": "must be a JSON object"}]
    violations = instance_violations(schema, response)
    problems: list[dict[str, str]] = []
    if any(found.keyword == "required" and not found.path for found in violations):
        required = schema.get("required", [])
        for name in required if isinstance(required, list) else []:
            if isinstance(name, str) and name not in response:
                problems.append({"field": f"response.{name}", "message": "is required"})
    for violation in violations:
        if violation.keyword == "required" and not violation.path:
            continue  # named above, one field each
        where = dotted("response", violation.path)
        problems.append({"field": where, "message": violation.message})
    return problems
