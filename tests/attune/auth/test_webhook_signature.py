"""Webhook signatures: HMAC-SHA256 of the raw body, `sha256=<hex>`."""

from __future__ import annotations

import pytest

from attune.auth.webhook_signature import SIGNATURE_HEADER, sign, verify

SECRET = "s3cret"
BODY = b'{"event": "push", "ref": "main"}'


def test_header_name_and_format() -> None:
    assert SIGNATURE_HEADER == "X-Attune-Signature"
    signature = sign(SECRET, BODY)
    assert signature.startswith("sha256=")
    assert len(signature) == len("sha256=") + 64


def test_valid_signature_verifies() -> None:
    assert verify(SECRET, BODY, sign(SECRET, BODY))


def test_uppercase_hex_verifies() -> None:
    scheme, _, digest = sign(SECRET, BODY).partition("=")
    assert verify(SECRET, BODY, f"{scheme}={digest.upper()}")


def test_wrong_secret_fails() -> None:
    assert not verify(SECRET, BODY, sign("other", BODY))


def test_tampered_body_fails() -> None:
    assert not verify(SECRET, BODY + b" ", sign(SECRET, BODY))


def test_missing_header_fails() -> None:
    assert not verify(SECRET, BODY, None)


@pytest.mark.parametrize(
    "header",
    [
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
def test_malformed_header_fails(header: str) -> None:
    assert not verify(SECRET, BODY, header)
