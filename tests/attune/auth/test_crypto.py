"""AES-256-GCM secrets at rest (attune/crypto.py): round trip, and refusal of anything else."""

from __future__ import annotations

import base64
import os

import pytest

from attune.crypto import SecretDecryptionError, decrypt_secret, encrypt_secret

KEY = os.urandom(32)


@pytest.mark.parametrize("plaintext", ["webhook-secret", "", "ünïcødé ✓", "x" * 10_000])
def test_round_trip(plaintext: str) -> None:
    assert decrypt_secret(KEY, encrypt_secret(KEY, plaintext)) == plaintext


def test_ciphertext_hides_the_plaintext_and_is_urlsafe() -> None:
    sealed = encrypt_secret(KEY, "webhook-secret")
    assert "webhook-secret" not in sealed
    assert set(sealed) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def test_each_encryption_uses_a_fresh_nonce() -> None:
    first, second = encrypt_secret(KEY, "same"), encrypt_secret(KEY, "same")
    assert first != second
    nonce = slice(1, 13)
    assert base64.urlsafe_b64decode(first)[nonce] != base64.urlsafe_b64decode(second)[nonce]


def test_wrong_key_is_refused() -> None:
    sealed = encrypt_secret(KEY, "webhook-secret")
    with pytest.raises(SecretDecryptionError, match="wrong encryption key"):
        decrypt_secret(os.urandom(32), sealed)


@pytest.mark.parametrize("position", [1, 13, -1])
def test_tampered_value_is_refused(position: int) -> None:
    raw = bytearray(base64.urlsafe_b64decode(encrypt_secret(KEY, "webhook-secret")))
    raw[position] ^= 0x01
    with pytest.raises(SecretDecryptionError, match="altered"):
        decrypt_secret(KEY, base64.urlsafe_b64encode(bytes(raw)).decode("ascii"))


def test_unknown_version_is_refused() -> None:
    raw = bytearray(base64.urlsafe_b64decode(encrypt_secret(KEY, "webhook-secret")))
    raw[0] = 99
    with pytest.raises(SecretDecryptionError, match="version 99"):
        decrypt_secret(KEY, base64.urlsafe_b64encode(bytes(raw)).decode("ascii"))


@pytest.mark.parametrize("garbage", ["", "abc", "not base64!", "é", "AAAA"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(SecretDecryptionError):
        decrypt_secret(KEY, garbage)


@pytest.mark.parametrize("size", [0, 16, 24, 31, 33])
def test_key_must_be_32_bytes(size: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt_secret(os.urandom(size), "x")
