"""Files of keys to load, in the format of StackStorm's `st2 key load` (JSON or YAML).

A file holds one key object or a list of them:

    - name: api_token
      value: s3cr3t
      scope: st2kv.system       # or system, user, st2kv.user, pack (default: system)
      secret: true              # store it encrypted (`encrypt: true` says the same)
      ttl: 3600                 # seconds until it expires
      description: the vendor's token
      user: stanley             # for scope user (default: the caller)
      pack: mypack              # for scope pack

A value that is not a string (a number, a list, an object) is stored as that JSON. What
`st2 key list --json` adds to each key (`id`, `uid`, `expire_timestamp`) is ignored;
`encrypted: true`, StackStorm's own ciphertext, is refused: only StackStorm can open it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from attune import errors
from attune.excerpts import excerpt
from attune.keys.addresses import Scope

SCOPES = {
    "system": Scope.SYSTEM,
    "st2kv.system": Scope.SYSTEM,
    "user": Scope.USER,
    "st2kv.user": Scope.USER,
    "pack": Scope.PACK,
}
FIELDS = frozenset(
    {"name", "value", "scope", "secret", "encrypt", "encrypted", "ttl", "description"}
    | {"user", "pack"}
)
# What StackStorm's exports carry that says nothing Attune keeps.
IGNORED = frozenset({"id", "uid", "expire_timestamp"})


@dataclass(frozen=True)
class KeyEntry:
    """One key of a file: where it goes and what it holds."""

    name: str
    value: Any
    scope: Scope = Scope.SYSTEM
    pack: str | None = None
    user: str | None = None
    encrypt: bool = False
    ttl_seconds: int | None = None
    description: str = ""


def parse_key_file(text: str, *, source: str) -> list[KeyEntry]:
    """The keys of a file's `text`; `ValidationError` naming the entry and field otherwise.

    Every entry is checked before any is returned, so a mistake anywhere loads nothing.
    """
    try:
        document = json.loads(text) if source.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise errors.ValidationError(f"{source}: neither JSON nor YAML: {error}") from None
    if document is None or document == []:
        raise errors.ValidationError(f"{source}: holds no keys")
    items = document if isinstance(document, list) else [document]
    return [_entry(item, f"{source}: entry {index + 1}") for index, item in enumerate(items)]


def _entry(item: Any, where: str) -> KeyEntry:
    if not isinstance(item, dict):
        raise errors.ValidationError(f"{where}: a key is an object with name and value")
    unknown = sorted(str(field) for field in set(item) - FIELDS - IGNORED)
    if unknown:
        raise errors.ValidationError(
            f"{where}: unknown field(s) {', '.join(unknown)}; a key has {', '.join(sorted(FIELDS))}"
        )
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise errors.ValidationError(f"{where}: name: required, a string")
    where = f"{where} ({name})"
    if "value" not in item or item["value"] is None:
        raise errors.ValidationError(f"{where}: value: required")
    if item.get("encrypted") is True:
        raise errors.ValidationError(
            f"{where}: encrypted: true means the value is StackStorm's ciphertext, which only "
            "StackStorm can open; export it with `st2 key list --decrypt --json` and load "
            "the plain value with secret: true"
        )
    scope_name = item.get("scope", "system")
    if not isinstance(scope_name, str) or scope_name not in SCOPES:
        raise errors.ValidationError(
            f"{where}: scope: {excerpt(scope_name)} is not one of {', '.join(SCOPES)}"
        )
    return KeyEntry(
        name=name,
        value=_json_value(item["value"], where),
        scope=SCOPES[scope_name],
        pack=_text(item, "pack", where),
        user=_text(item, "user", where),
        encrypt=_flag(item, "secret", where) or _flag(item, "encrypt", where),
        ttl_seconds=_ttl(item.get("ttl"), where),
        description=_text(item, "description", where) or "",
    )


def _json_value(value: Any, where: str) -> Any:
    # YAML reads an unquoted 2024-01-31 as a date, which JSON has no way to say.
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise errors.ValidationError(
            f"{where}: value: not JSON (a YAML date or time, or NaN?); quote it to keep it "
            "as a string"
        ) from None
    return value


def _flag(item: dict[str, Any], field: str, where: str) -> bool:
    value = item.get(field, False)
    if not isinstance(value, bool):
        raise errors.ValidationError(f"{where}: {field}: true or false, not {excerpt(value)}")
    return value


def _text(item: dict[str, Any], field: str, where: str) -> str | None:
    value = item.get(field)
    if value is not None and not isinstance(value, str):
        raise errors.ValidationError(f"{where}: {field}: a string, not {excerpt(value)}")
    return value


def _ttl(value: Any, where: str) -> int | None:
    # StackStorm's exports write ttl: null for keys that do not expire.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise errors.ValidationError(
            f"{where}: ttl: a whole number of seconds, at least 1, not {excerpt(value)}"
        )
    return value
