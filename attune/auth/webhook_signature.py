"""Webhook signatures that cannot be replayed: a timestamp signed together with the body.

    X-Attune-Timestamp: <unix seconds>
    X-Attune-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">

As Stripe and Slack sign theirs. A signature of the body alone would let anyone who saw
one delivery send it again forever; with the timestamp inside the signature, a delivery
is accepted only within a tolerance of its timestamp, and within that window the API
remembers each signature it accepted (`db.repositories.webhook_delivery`), so a second
delivery of it is refused too.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Attune-Signature"
TIMESTAMP_HEADER = "X-Attune-Timestamp"
SCHEME = "sha256"
# One SHA-256 in hex (either case); anything else is malformed rather than a mismatch.
_SIGNATURE = re.compile(rf"{SCHEME}=([0-9a-fA-F]{{64}})", re.ASCII)
# Unix seconds: ten digits until the year 2286; a sign or a fraction is malformed.
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp` (unix seconds)."""
    return f"{SCHEME}={_digest(secret, body, str(timestamp)).hex()}"


def parse_timestamp(header: str | None) -> int | None:
    """The timestamp header as unix seconds; None when absent or malformed."""
    if header is None or _TIMESTAMP.fullmatch(header.strip()) is None:
        return None
    return int(header.strip())


def signature_digest(header: str | None) -> bytes | None:
    """The 32 bytes a signature header carries; None when absent or malformed."""
    match = _SIGNATURE.fullmatch(header.strip()) if header is not None else None
    return bytes.fromhex(match.group(1)) if match is not None else None


def verify(secret: str, body: bytes, timestamp: int, digest: bytes) -> bool:
    """Whether `digest` signs exactly this timestamp and these bytes."""
    return hmac.compare_digest(digest, _digest(secret, body, str(timestamp)))


def _digest(secret: str, body: bytes, timestamp: str) -> bytes:
    signed = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
