"""Secrets at rest (webhook secrets, keys): AES-256-GCM under the operator's encryption key.

Stored form: urlsafe base64 of `version (1 byte) | nonce (12 bytes) | ciphertext and tag`.
The version byte leaves room to change the scheme later without guessing at old values.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from attune.config import ENCRYPTION_KEY_BYTES

VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
_VERSION_BYTE = bytes([VERSION])


class SecretDecryptionError(ValueError):
    """A stored secret cannot be decrypted: wrong key, or the stored value was changed."""


def encrypt_secret(key: bytes, plaintext: str, *, context: str = "") -> str:
    """Encrypt `plaintext` under the 32-byte `key`; a fresh random nonce every call.

    `context` names what the value belongs to (`execution:42`); it is authenticated, not
    stored, so the ciphertext decrypts only with the same context: copied into another
    row, it is refused.
    """
    # A random 96-bit nonce is safe for far more values than Attune will ever encrypt under
    # one key (the limit is about 2**32); reusing a nonce would break GCM entirely.
    nonce = os.urandom(NONCE_BYTES)
    # The version byte is authenticated too, so it cannot be changed to reinterpret a value.
    sealed = _cipher(key).encrypt(nonce, plaintext.encode("utf-8"), _associated(context))
    return base64.urlsafe_b64encode(_VERSION_BYTE + nonce + sealed).decode("ascii")


def decrypt_secret(key: bytes, token: str, *, context: str = "") -> str:
    """The plaintext `encrypt_secret` sealed in `context`; `SecretDecryptionError` otherwise."""
    cipher = _cipher(key)
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        raise SecretDecryptionError("cannot decrypt secret: it is not urlsafe base64") from None
    if len(raw) < 1 + NONCE_BYTES + TAG_BYTES:
        raise SecretDecryptionError("cannot decrypt secret: the stored value is too short")
    if raw[0] != VERSION:
        raise SecretDecryptionError(
            f"cannot decrypt secret: unknown format version {raw[0]} (expected {VERSION})"
        )
    nonce, sealed = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
    try:
        plaintext = cipher.decrypt(nonce, sealed, _associated(context))
    except InvalidTag:
        # GCM cannot tell these apart, and neither should the message pretend to.
        raise SecretDecryptionError(
            "cannot decrypt secret: wrong encryption key (ATTUNE_ENCRYPTION_KEY), "
            "or the stored value was altered or moved from where it belongs"
        ) from None
    return plaintext.decode("utf-8")


def decrypt_secret_with_any(keys: Sequence[bytes], token: str, *, context: str = "") -> str:
    """`decrypt_secret` under the first of `keys` that opens it: the current key first, then
    those a rotation left behind (ATTUNE_PREVIOUS_ENCRYPTION_KEYS)."""
    if not keys:
        raise SecretDecryptionError("cannot decrypt secret: no encryption key is configured")
    failure: SecretDecryptionError | None = None
    for key in keys:
        try:
            return decrypt_secret(key, token, context=context)
        except SecretDecryptionError as error:
            failure = failure or error
    assert failure is not None
    raise failure


def _associated(context: str) -> bytes:
    # Without a context this is the version byte alone, as values sealed before contexts.
    return _VERSION_BYTE + context.encode("utf-8")


def _cipher(key: bytes) -> AESGCM:
    # A short key would silently select AES-128 or AES-192; insist on the 256-bit key.
    if len(key) != ENCRYPTION_KEY_BYTES:
        raise ValueError(f"encryption key must be {ENCRYPTION_KEY_BYTES} bytes, not {len(key)}")
    return AESGCM(key)
