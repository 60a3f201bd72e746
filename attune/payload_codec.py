"""Every payload Attune sends to Temporal, encrypted: AES-256-GCM under a key derived from
ATTUNE_ENCRYPTION_KEY.

Temporal keeps workflow and activity inputs and results, signals, updates, memos, summaries
and failure messages in its history, which whoever reads Temporal's database (or its Web
UI, or `temporal workflow show`) can see. With this codec they see ciphertext; the API's
codec endpoint (`api.routers.codec`) decodes for the callers Attune lets in.

An encoded payload is `{encoding: binary/encrypted, encryption-key-id: <id>}` with
`nonce (12 bytes) | ciphertext and tag` of the original payload's protobuf bytes. The id
names which key sealed it, so that after a rotation a process given the previous keys
(ATTUNE_PREVIOUS_ENCRYPTION_KEYS) still opens histories written before. A payload without
that encoding passes through unchanged: histories written before the codec stay readable.

The payload key is derived (HKDF) rather than ATTUNE_ENCRYPTION_KEY itself, so that no
ciphertext in Temporal is under the same key as the secrets in PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
TAG_BYTES = 16
_DERIVATION = b"attune temporal payloads v1"

NO_KEY = (
    "ATTUNE_ENCRYPTION_KEY is not set on this process: Attune encrypts every Temporal "
    "payload with it"
)


class PayloadKeyError(ValueError):
    """A payload cannot be encrypted or decrypted with the keys this process has."""


@dataclasses.dataclass(frozen=True)
class _PayloadKey:
    id: bytes
    cipher: AESGCM


def payload_key(master: bytes) -> tuple[bytes, bytes]:
    """(the payload key derived from an ATTUNE_ENCRYPTION_KEY, its public id)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION).derive(master)
    # The id tells keys apart; a hash of a 256-bit key reveals nothing usable about it.
    return derived, hashlib.sha256(derived).hexdigest()[:16].encode("ascii")


class EncryptionCodec(PayloadCodec):
    """Seals with the first key of `keys`; opens with whichever of them sealed a payload."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._keys: dict[bytes, _PayloadKey] = {}
        for master in keys:
            derived, key_id = payload_key(master)
            self._keys.setdefault(key_id, _PayloadKey(key_id, AESGCM(derived)))
        self._sealing = next(iter(self._keys.values()), None)

    @property
    def can_encrypt(self) -> bool:
        return self._sealing is not None

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(payload) for payload in payloads]

    def seal(self, payload: Payload) -> Payload:
        key = self._sealing
        if key is None:
            raise PayloadKeyError(NO_KEY)
        nonce = os.urandom(NONCE_BYTES)
        # The key id is authenticated: a payload relabelled with another id does not open.
        sealed = key.cipher.encrypt(nonce, payload.SerializeToString(), key.id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key.id}, data=nonce + sealed)

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before the codec, or by a client without one
        key_id = payload.metadata.get(KEY_ID, b"")
        key = self._keys.get(key_id)
        if key is None:
            raise PayloadKeyError(
                f"payload encrypted under key id {key_id.decode('ascii', 'replace')!r}, "
                "which this process does not have (after a rotation, give the previous key "
                "in ATTUNE_PREVIOUS_ENCRYPTION_KEYS)"
            )
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadKeyError("payload does not decrypt: it was altered (too short)")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(key.cipher.decrypt(nonce, sealed, key.id))
        except InvalidTag:
            raise PayloadKeyError("payload does not decrypt: it was altered") from None


def encrypting_data_converter(keys: Sequence[bytes]) -> DataConverter:
    """Temporal's default converter with the codec, and failure messages and stack traces
    moved into an encoded payload (Temporal would otherwise keep them in clear)."""
    return dataclasses.replace(
        DataConverter.default,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
