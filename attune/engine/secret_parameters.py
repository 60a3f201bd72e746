"""Secret parameters at rest: masked in `execution.parameters`, sealed in `secret_parameters`.

A parameter marked `secret: true` would otherwise sit in plain text in the execution
row, and so in every backup and in PostgreSQL's WAL. Its value is kept instead as one
AES-256-GCM ciphertext of `{name: value}` bound to the execution's id (a ciphertext
copied into another row does not decrypt), and `parameters` shows it as `********`.
Only the worker that runs the action unseals it (`unsealed_parameters`), just before it
hands the parameters to the action on stdin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from attune import errors
from attune.crypto import decrypt_secret, encrypt_secret
from attune.packs.parameters import SECRET_MASK

NO_KEY = (
    "ATTUNE_ENCRYPTION_KEY is not set on this process; parameters marked secret are "
    "stored encrypted and need it"
)


def split_secrets(
    parameters: Mapping[str, Any], secrets: frozenset[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the parameters with secrets masked, the secret parameters' values)."""
    masked = {name: SECRET_MASK if name in secrets else value for name, value in parameters.items()}
    values = {name: value for name, value in parameters.items() if name in secrets}
    return masked, values


def seal(key: bytes | None, execution_id: int, values: Mapping[str, Any]) -> str:
    """The secret values as one ciphertext bound to the execution's id."""
    if key is None:
        raise errors.ServiceUnavailable(NO_KEY)
    return encrypt_secret(key, json.dumps(dict(values)), context=secret_context(execution_id))


def unsealed_parameters(
    key: bytes | None, execution_id: int, parameters: Mapping[str, Any], sealed: str | None
) -> dict[str, Any]:
    """The parameters an action runs with: the masked ones replaced by their values."""
    if sealed is None:
        return dict(parameters)
    if key is None:
        raise errors.ServiceUnavailable(NO_KEY)
    values = json.loads(decrypt_secret(key, sealed, context=secret_context(execution_id)))
    return {**parameters, **values}


def secret_context(execution_id: int) -> str:
    """What an execution's sealed secrets are bound to (migration 0005 seals with it too)."""
    return f"execution:{execution_id}"
