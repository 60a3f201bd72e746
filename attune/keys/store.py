"""The key-value store's operations: put, get, list and delete keys, sealing secrets.

An encrypted key's value is stored as `attune.keys.values.seal_value`'s ciphertext and
shown as `MASK` everywhere, unless one `get` asks for it decrypted; each such read goes
to the audit log. Sessions are the caller's: nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.crypto import SecretDecryptionError
from attune.excerpts import shortened
from attune.keys import audit
from attune.keys.addresses import KeyAddress
from attune.keys.bounds import check_description, check_ttl, check_value
from attune.keys.owners import OwnerFilter, check_owner_exists
from attune.keys.values import MASK, open_value, seal_value
from db.models import Key
from db.repositories import key as keys
from db.repositories.base import DEFAULT_LIMIT

MAX_SHOWN_CHARS = 200
NO_KEY = (
    "ATTUNE_ENCRYPTION_KEY is not set on this API process; encrypted keys need it "
    "(generate one with `attune keygen`)"
)


@dataclass(frozen=True)
class KeyView:
    """A key as a caller sees it: the value masked when encrypted, unless decrypted."""

    address: KeyAddress
    value: Any
    encrypted: bool
    description: str
    expires_at: datetime | None
    created: datetime
    updated: datetime

    @classmethod
    def of(cls, row: Key, *, value: Any = MASK) -> KeyView:
        """The view of a stored row; `value` replaces an encrypted row's (masked) value."""
        return cls(
            address=KeyAddress.of(row.owner_type, row.owner, row.name),
            value=value if row.encrypted else row.value,
            encrypted=row.encrypted,
            description=row.description,
            expires_at=row.expires_at,
            created=row.created,
            updated=row.updated,
        )


async def put_key(
    session: AsyncSession,
    address: KeyAddress,
    *,
    value: Any,
    encrypted: bool = False,
    ttl_seconds: int | None = None,
    description: str = "",
    encryption_key: bytes | None = None,
) -> tuple[KeyView, bool]:
    """Create or replace the key at `address`; (its view, whether it was created).

    Replacing sets every field: a key put again without a TTL no longer expires.
    `encryption_key` is needed only when `encrypted`: ServiceUnavailable without it.
    """
    check_value(value)
    check_description(description)
    check_ttl(ttl_seconds)
    await check_owner_exists(session, address)
    stored = value
    if encrypted:
        if encryption_key is None:
            raise errors.ServiceUnavailable(NO_KEY)
        stored = seal_value(encryption_key, address, value)
    row, created = await keys.put(
        session,
        owner_type=address.owner_type,
        owner=address.owner,
        name=address.name,
        value=stored,
        encrypted=encrypted,
        description=description,
        ttl_seconds=ttl_seconds,
    )
    return KeyView.of(row), created


async def get_key(
    session: AsyncSession,
    address: KeyAddress,
    *,
    decrypt_with: Sequence[bytes] | None = None,
    reader: str = "",
) -> KeyView:
    """The live key at `address`, `NotFound` when there is none (or it expired).

    With `decrypt_with` (the key ring: current key first) an encrypted value is opened,
    and `reader` (the caller's login) goes to the audit log with the key's address.
    """
    row = await keys.find_by_name(
        session, name=address.name, owner_type=address.owner_type, owner=address.owner
    )
    if row is None:
        raise errors.NotFound(f"key {_shown(address)} not found", details={"key": _shown(address)})
    if decrypt_with is None or not row.encrypted:
        return KeyView.of(row)
    if not decrypt_with:
        raise errors.ServiceUnavailable(NO_KEY)
    try:
        plain = open_value(decrypt_with, address, _sealed(row))
    except SecretDecryptionError as error:
        audit.key_decrypt_failed(reader, address)
        raise errors.Conflict(
            f"key {_shown(address)} cannot be decrypted: {error}. Is ATTUNE_ENCRYPTION_KEY "
            "the key it was stored with, or is that key in ATTUNE_PREVIOUS_ENCRYPTION_KEYS?",
            details={"key": _shown(address)},
        ) from None
    audit.key_decrypted(reader, address)
    return KeyView.of(row, value=plain)


async def list_keys(
    session: AsyncSession,
    owners: OwnerFilter,
    *,
    prefix: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    visible: ColumnElement[bool] | None = None,
) -> list[KeyView]:
    """The live keys `owners` selects (names starting with `prefix`, and `visible` when
    given), values masked."""
    rows = await keys.list_live(
        session,
        owner_types=owners.owner_types,
        owner=owners.owner,
        prefix=prefix,
        limit=limit,
        offset=offset,
        visible=visible,
    )
    return [KeyView.of(row) for row in rows]


async def delete_key(session: AsyncSession, address: KeyAddress) -> None:
    """Delete the live key at `address`; `NotFound` when there is none (or it expired)."""
    deleted = await keys.delete_by_name(
        session, owner_type=address.owner_type, owner=address.owner, name=address.name
    )
    if not deleted:
        raise errors.NotFound(f"key {_shown(address)} not found", details={"key": _shown(address)})


def _shown(address: KeyAddress) -> str:
    # The owner is the caller's text: escaped and cut before it goes into a message.
    return shortened(str(address), MAX_SHOWN_CHARS)


def _sealed(row: Key) -> str:
    # An encrypted row holds the ciphertext as a JSON string; anything else was tampered with.
    if not isinstance(row.value, str):
        raise SecretDecryptionError("cannot decrypt secret: the stored value is not a ciphertext")
    return row.value
