"""The key that encrypts secrets at rest: given by the operator, or generated once for a dev run."""

from __future__ import annotations

import base64
import os

from pydantic import SecretStr

from attune.config import ENCRYPTION_KEY_BYTES, Settings, SettingsError, decode_encryption_key

KEY_FILE_NAME = "encryption-key"


def generate_encryption_key() -> str:
    """A fresh random key in the form `ATTUNE_ENCRYPTION_KEY` takes."""
    return base64.urlsafe_b64encode(os.urandom(ENCRYPTION_KEY_BYTES)).decode("ascii")


def resolve_encryption_key(settings: Settings) -> str:
    """The configured key, else (embedded runs only) the one kept in the data directory.

    Against external services the key must be given: a key generated on one machine would
    leave every other worker unable to read the secrets.
    """
    if settings.encryption_key is not None:
        return settings.encryption_key.get_secret_value()
    if not settings.is_fully_embedded:
        raise SettingsError(
            "ATTUNE_ENCRYPTION_KEY: required when ATTUNE_DATABASE_URL or TEMPORAL_ADDRESS "
            "points at an external service (generate one with `attune keygen`)"
        )
    path = settings.data_dir / KEY_FILE_NAME
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once must not each write their own key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        try:
            decode_encryption_key(key)
        except ValueError as error:
            raise SettingsError(f"{path}: the stored encryption key is damaged: {error}") from None
        return key
    key = generate_encryption_key()
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def with_encryption_key(settings: Settings) -> Settings:
    """`settings` with the key `resolve_encryption_key` finds, for commands that talk to
    Temporal (whose payloads are encrypted) or unseal secrets."""
    return settings.model_copy(
        update={"encryption_key": SecretStr(resolve_encryption_key(settings))}
    )
