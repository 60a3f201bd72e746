"""Webhook signatures: HMAC-SHA256 of "<timestamp>.<raw body>", `sha256=<hex>`."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from attune.auth.webhook_signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    parse_timestamp,
    sign,
    signature_digest,
    verify,
)

SECRET = "s3cret"
BODY = b'{"event": "push", "ref": "main"}'
NOW = 1_764_576_000


def _verifies(header: str, *, body: bytes = BODY, timestamp: int = NOW) -> bool:
    digest = signature_digest(header)
    return digest is not None and verify(SECRET, body, timestamp, digest)


def test_header_names_and_format() -> None:
    assert SIGNATURE_HEADER == "X-Attune-Signature"
    assert TIMESTAMP_HEADER == "X-Attune-Timestamp"
    signature = sign(SECRET, BODY, NOW)
    assert signature.startswith("sha256=")
    assert len(signature) == len("sha256=") + 64


def test_the_signature_is_the_hmac_of_timestamp_dot_body_as_documented() -> None:
    # What a sender computes with openssl: printf '%s.%s' "$TS" "$BODY" | openssl dgst ...
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, NOW) == f"sha256={expected}"


def test_valid_signature_verifies_and_uppercase_hex_too() -> None:
    header = sign(SECRET, BODY, NOW)
    assert _verifies(header)
    scheme, _, digest = header.partition("=")
    assert _verifies(f"{scheme}={digest.upper()}")


def test_wrong_secret_tampered_body_or_another_timestamp_fail() -> None:
    assert not _verifies(sign("other", BODY, NOW))
    assert not _verifies(sign(SECRET, BODY, NOW), body=BODY + b" ")
    # The timestamp is inside the signature: moving it forward to dodge the window fails.
    assert not _verifies(sign(SECRET, BODY, NOW), timestamp=NOW + 1)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256=xyz",
        "sha1=" + "0" * 40,
        "sha512=" + "0" * 128,
        "sha256=" + "0" * 63,
        "sha256=" + "0" * 65,
        "sha256=" + "g" * 64,
        "sha256=" + "é" * 64,
        "0" * 64,
    ],
)
def test_a_malformed_signature_header_carries_no_digest(header: str | None) -> None:
    assert signature_digest(header) is None


@pytest.mark.parametrize(
    "header", [None, "", "-5", "1.5", "1e9", "abc", "\uff11\uff12\uff13", "1" * 13]
)
def test_a_malformed_timestamp_is_none(header: str | None) -> None:
    assert parse_timestamp(header) is None


def test_a_timestamp_is_unix_seconds() -> None:
    assert parse_timestamp(f" {NOW} ") == NOW
