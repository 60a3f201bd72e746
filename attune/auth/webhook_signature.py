"""Webhook signatures: `X-Attune-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.

The same form GitHub uses, so senders that sign GitHub-style only need the header name.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Attune-Signature"
SCHEME = "sha256"
# One SHA-256 in hex (either case); anything else is malformed rather than a mismatch.
_SIGNATURE = re.compile(rf"{SCHEME}=([0-9a-fA-F]{{64}})", re.ASCII)


def sign(secret: str, body: bytes) -> str:
    """The header value for `body` signed with `secret`."""
    return f"{SCHEME}={_digest(secret, body).hex()}"


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is a valid signature of exactly these bytes; False if malformed."""
    if header is None:
        return False
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return False
    # Compare bytes in constant time; compare_digest refuses non-ASCII str, and the regex
    # has already made sure the hex decodes.
    return hmac.compare_digest(bytes.fromhex(match.group(1)), _digest(secret, body))


def _digest(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
