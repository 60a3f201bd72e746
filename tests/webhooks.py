"""Signing webhooks in tests as a sender would: a timestamp and the body, HMAC-SHA256."""

from __future__ import annotations

import time

from attune.auth.webhook_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers of a delivery of `body` signed now (or at `timestamp`)."""
    at = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(at), SIGNATURE_HEADER: sign(secret, body, at)}
