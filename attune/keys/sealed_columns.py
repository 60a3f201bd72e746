"""Where Attune keeps secrets at rest, and what each ciphertext is bound to.

Every column here holds `attune.crypto.encrypt_secret` ciphertexts under
ATTUNE_ENCRYPTION_KEY, each sealed with a context (the row it belongs to) that opening it
needs again. A rotation walks these columns; a new kind of secret at rest belongs here,
or a rotation would leave it under the old key.

- `key.value` of an encrypted key: the JSON value, bound to the key's address.
- `trigger.webhook_secret`: the secret webhooks are signed with, sealed without a context.
- `execution.secret_parameters`: an execution's secret parameters, bound to its id.

Inquiry responses, events and results are not encrypted at rest; an inquiry reads its
execution's sealed parameters, which are covered above.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from attune.engine.secret_parameters import secret_context
from attune.keys.addresses import KeyAddress
from db.models import Execution, Key, OwnerType, Trigger

WEBHOOK_SECRET_CONTEXT = ""
"""What `api.routers.triggers` seals webhook secrets with: no context."""


@dataclass(frozen=True)
class SealedColumn:
    """A column of ciphertexts: which rows hold one, and how to tell each one's context."""

    table: str
    model: type[Any]
    column: InstrumentedAttribute[Any]
    holds_secret: ColumnElement[bool]
    # The columns besides the id that a row's context is made of, in `context`'s order.
    reads: tuple[InstrumentedAttribute[Any], ...]
    # (the row's id, its `reads`) -> its context; None when the row cannot say.
    context: Callable[..., str | None]


def _key_context(_: int, owner_type: OwnerType, owner: str, name: str) -> str | None:
    try:
        return KeyAddress.of(owner_type, owner, name).sealing_context
    except KeyError:  # an owner type no scope reaches (action, sensor): nothing seals those
        return None


SEALED_COLUMNS = (
    SealedColumn(
        table="key",
        model=Key,
        column=Key.value,
        holds_secret=Key.encrypted.is_(True),
        reads=(Key.owner_type, Key.owner, Key.name),
        context=_key_context,
    ),
    SealedColumn(
        table="trigger",
        model=Trigger,
        column=Trigger.webhook_secret,
        holds_secret=Trigger.webhook_secret.is_not(None),
        reads=(),
        context=lambda _: WEBHOOK_SECRET_CONTEXT,
    ),
    SealedColumn(
        table="execution",
        model=Execution,
        column=Execution.secret_parameters,
        holds_secret=Execution.secret_parameters.is_not(None),
        reads=(),
        context=secret_context,
    ),
)
