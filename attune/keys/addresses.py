"""Where a key lives: its scope (`system`, `pack`, `user`), the scope's owner, and its name.

The API and templates speak of scopes; the table stores an owner type (`user` is an
identity there) and an owner (the pack's ref, the identity's login, "" for the system).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from attune import errors
from db.models import OwnerType

MAX_NAME_CHARS = 255
# Names a template can reach with `keystore.system.NAME` or `keystore.system['NAME']`.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]*$")


class Scope(StrEnum):
    SYSTEM = "system"
    PACK = "pack"
    USER = "user"

    @property
    def owner_type(self) -> OwnerType:
        return _OWNER_TYPES[self]


_OWNER_TYPES = {
    Scope.SYSTEM: OwnerType.SYSTEM,
    Scope.PACK: OwnerType.PACK,
    Scope.USER: OwnerType.IDENTITY,
}
_SCOPES = {owner_type: scope for scope, owner_type in _OWNER_TYPES.items()}


@dataclass(frozen=True)
class KeyAddress:
    scope: Scope
    owner: str
    name: str

    @classmethod
    def of(cls, owner_type: OwnerType, owner: str, name: str) -> KeyAddress:
        """The address of a stored row."""
        return cls(_SCOPES[owner_type], owner, name)

    @property
    def owner_type(self) -> OwnerType:
        return self.scope.owner_type

    @property
    def sealing_context(self) -> str:
        """What an encrypted value is bound to: a ciphertext moved to another key won't open."""
        return f"key:{self.scope.value}:{self.owner}:{self.name}"

    def __str__(self) -> str:
        owner = f"[{self.owner}]" if self.owner else ""
        return f"{self.scope.value}{owner}/{self.name}"


def check_name(name: str, *, field: str = "name") -> str:
    """`name` if a key may be called so; `ValidationError` naming `field` otherwise."""
    # fullmatch: `$` would let a trailing newline through (a look-alike key).
    if not name or len(name) > MAX_NAME_CHARS or NAME_PATTERN.fullmatch(name) is None:
        raise errors.ValidationError(
            f"{field}: a key name is 1 to {MAX_NAME_CHARS} characters of letters, digits, "
            "'_', '.', ':' and '-', starting with a letter, digit or '_'",
            details={"field": field},
        )
    return name
