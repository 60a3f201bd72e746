"""A POST delivered as a careful client does: one Idempotency-Key, retried until answered.

Connection errors, timeouts and 5xx are retried with the same key (the API's answer to a
repeated key is its first answer, and nothing new is created); any other answer is final.
Acknowledged means a 2xx came back.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

REQUEST_TIMEOUT_SECONDS = 15.0
FIRST_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 2.0


@dataclass(frozen=True)
class Answer:
    """How a delivery ended: the final response (None if none came before the deadline)."""

    response: httpx.Response | None
    attempts: int

    @property
    def acknowledged(self) -> bool:
        return self.response is not None and self.response.is_success

    def json(self) -> dict[str, Any]:
        assert self.response is not None
        body: dict[str, Any] = self.response.json()
        return body


def new_key(label: str) -> str:
    return f"chaos-{label}-{uuid.uuid4()}"


async def deliver(
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    *,
    key: str,
    deadline: float,
) -> Answer:
    """POST `body` to `path` with `key` until a non-retryable answer or `deadline` (monotonic)."""
    backoff = FIRST_BACKOFF_SECONDS
    attempts = 0
    last: httpx.Response | None = None
    while True:
        attempts += 1
        try:
            response = await client.post(
                path,
                json=body,
                headers={"Idempotency-Key": key},
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code < 500:
            return Answer(response, attempts)
        last = response if response is not None else last
        if time.monotonic() + backoff > deadline:
            return Answer(last, attempts)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
