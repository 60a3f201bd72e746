"""Encrypted key values: the JSON value sealed with AES-256-GCM, bound to the key's address."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from attune.crypto import decrypt_secret_with_any, encrypt_secret
from attune.keys.addresses import KeyAddress

MASK = "********"
"""What an encrypted value is shown as wherever it is not asked to be decrypted."""


def seal_value(key: bytes, address: KeyAddress, value: Any) -> str:
    """The ciphertext stored for `value` (any JSON) at `address`."""
    return encrypt_secret(key, json.dumps(value), context=address.sealing_context)


def open_value(keys: Sequence[bytes], address: KeyAddress, sealed: str) -> Any:
    """The JSON value `seal_value` sealed at `address`; `SecretDecryptionError` otherwise."""
    return json.loads(decrypt_secret_with_any(keys, sealed, context=address.sealing_context))
