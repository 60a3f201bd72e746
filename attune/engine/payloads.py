"""Checking an event's payload against its trigger's payload schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attune import errors
from attune.packs.json_schema import dotted, instance_violations


def validate_payload(schema: Mapping[str, Any], payload: Any, *, trigger_ref: str) -> None:
    """Raise `ValidationError` naming the payload fields that break the schema."""
    violations = instance_violations(schema, payload)
    if not violations:
        return
    problems = [
        {"field": dotted("payload", violation.path), "message": violation.message}
        for violation in violations
    ]
    raise errors.ValidationError(
        f"payload does not fit trigger {trigger_ref!r}: {errors.summarize(problems)}",
        details={"field": problems[0]["field"], "trigger": trigger_ref, "errors": problems},
    )
