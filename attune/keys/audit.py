"""The audit trail of encrypted keys: who read which one in the clear, and when.

Lines go to the `attune.audit` logger at INFO, apart from the application's own log
lines, so an operator can ship them somewhere no one can edit them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from attune.keys.addresses import KeyAddress

audit_log = logging.getLogger("attune.audit")


def key_decrypted(reader: str, address: KeyAddress) -> None:
    """Record that `reader` (an identity's login) was given `address`'s plaintext."""
    _record("key decrypted", reader, address, logging.INFO)


def key_decrypt_failed(reader: str, address: KeyAddress) -> None:
    """Record that `reader` asked for `address`'s plaintext, and no key opened it."""
    _record("key decrypt failed", reader, address, logging.WARNING)


def _record(what: str, reader: str, address: KeyAddress, level: int) -> None:
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    audit_log.log(
        level,
        "%s: %s by identity %r at %s",
        what,
        address,
        reader,
        at,
        extra={"identity": reader, "key": str(address), "at": at},
    )
