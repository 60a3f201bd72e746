"""The exceptions pack workflow code sees, re-exported by `attune.sdk`.

Defined here, below the SDK, because `workflows.pack_runtime` raises them; pack authors
import them from `attune.sdk` alone.
"""

from __future__ import annotations

from typing import Any


class ActionFailed(Exception):
    """A child action did not complete: it failed, timed out, was cancelled or abandoned,
    or was refused before it ran (then `execution_id` is None)."""

    def __init__(
        self, execution_id: int | None, status: str, result: Any = None, error: str | None = None
    ) -> None:
        self.execution_id = execution_id
        self.status = status
        self.result = result
        self.error = error
        where = f"execution {execution_id}" if execution_id is not None else "the action"
        super().__init__(f"{where} ended {status}: {error or 'no error given'}")


class InquiryTimedOut(Exception):
    """Nobody answered the inquiry within its ttl."""

    def __init__(self, inquiry_id: int) -> None:
        self.inquiry_id = inquiry_id
        super().__init__(f"inquiry {inquiry_id} expired: nobody answered it in time")


class NotInAWorkflow(RuntimeError):
    """An `attune.sdk` call made outside a pack workflow's `run`."""
