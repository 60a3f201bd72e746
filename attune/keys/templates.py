"""Keys in templates: `{{ keystore.system.NAME }}`, read before rendering, looked up during it.

What a template may name, in rule parameters, in pack config values and in the string
defaults of action parameters:

- `keystore.system.NAME` (or `keystore.system['name.with.dots']`): a system key;
- `keystore.pack.NAME`: a key of the pack (the rule's, or the action's for a default);
- `keystore.user.NAME`: a key of the identity that asked for the execution, so only in
  a default of an execution a user requested (`POST /api/v1/executions`): a rule has no
  user;
- `st2kv.system.NAME`, ...: the same lookups under StackStorm's name, and the filter
  `decrypt_kv`, which only accepts the value: the lookups already decrypt.

A lone `{{ keystore.system.NAME }}` keeps the key's JSON type, as every lone expression
does. Rendering runs in a thread that never touches the database, so the keys are read
first: `key_references` finds the names written literally in the templates, and
`read_keys` fetches them in one query, only when some template mentions `keystore` or
`st2kv` at all. A key named otherwise (`keystore.system[trigger.name]`) cannot be known
before rendering, and is refused saying so. A missing or expired key fails the render:
"key system/NAME not found".

An encrypted key may be rendered only into a parameter marked `secret: true`, whose value
is then masked and sealed like any secret parameter's. Read into any other parameter,
directly or through the pack config, it fails the render with a message naming the
parameter and the key, never the value.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attune.crypto import SecretDecryptionError
from attune.keys import audit
from attune.keys.addresses import KeyAddress, Scope
from attune.keys.values import open_value
from attune.rules.templating import TemplateRefusal, render_nested, rendering_parameter
from db.models import Key
from db.repositories import key as keys

NAMESPACES = ("keystore", "st2kv")
"""The names templates reach the key-value store by: Attune's, and StackStorm's."""

_MENTION = re.compile(r"\b(?:keystore|st2kv)\b")
# `keystore.system.NAME`, `st2kv['pack']['NAME']` and the mixes: the name of a key written
# literally. A dotted name is only reachable as an item: `.a.b` is the field b of key a.
_SCOPE = (
    r"(?:\.\s*(?P<scope>system|pack|user)"
    r"|\[\s*(?P<q1>['\"])(?P<quoted_scope>system|pack|user)(?P=q1)\s*\])"
)
_NAME = (
    r"(?:\.\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\[\s*(?P<q2>['\"])(?P<quoted_name>[A-Za-z0-9_.:-]+)(?P=q2)\s*\])"
)
_REFERENCE = re.compile(rf"\b(?:keystore|st2kv)\s*{_SCOPE}\s*{_NAME}")

NO_USER = (
    "keystore.user reads the keys of the user who asked for the execution, and a rule has "
    "no user: only an action parameter's default, in an execution a user asks for "
    "(POST /api/v1/executions), may read keystore.user"
)


def mentions_keys(values: Any) -> bool:
    """Whether any string in `values` (nested in objects and lists) mentions the key store."""
    return any(_MENTION.search(text) for text in _strings(values))


def key_references(values: Any) -> set[tuple[Scope, str]]:
    """The (scope, name) of every key the strings in `values` name literally."""
    found: set[tuple[Scope, str]] = set()
    for text in _strings(values):
        if "keystore" not in text and "st2kv" not in text:
            continue
        for match in _REFERENCE.finditer(text):
            scope = Scope(match["scope"] or match["quoted_scope"])
            found.add((scope, match["name"] or match["quoted_name"]))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class KeyOwners:
    """Whose keys `keystore.pack` and `keystore.user` read: a pack's ref, an identity's
    login; None where the scope has no owner, refused with `no_user` for the user."""

    pack: str | None
    user: str | None = None
    no_user: str = NO_USER

    def address(self, scope: Scope, name: str) -> KeyAddress | None:
        owner = {Scope.SYSTEM: "", Scope.PACK: self.pack, Scope.USER: self.user}[scope]
        return None if owner is None else KeyAddress(scope, owner, name)


@dataclass
class TemplateKeys:
    """The keys a render may read, fetched before it, and the rule for encrypted ones."""

    owners: KeyOwners
    found: Mapping[KeyAddress, Key]
    named: frozenset[KeyAddress]
    key_ring: Sequence[bytes]
    secret_parameters: frozenset[str]
    # Who the decrypts are audited as: `rule:<ref>`, or the login of whoever asked.
    reader: str = "template"
    _store: dict[str, _ScopeLookup] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._store = {scope.value: _ScopeLookup(self, scope) for scope in Scope}

    def names(self) -> dict[str, Any]:
        """What to add to a template's context: `keystore` and `st2kv`."""
        return dict.fromkeys(NAMESPACES, self._store)

    def config(self, config: Mapping[str, Any]) -> Mapping[str, Any]:
        """The pack config as templates see it: values holding key templates render when read,
        so what they read counts against the parameter reading them."""
        return RenderedConfig(config, self, "pack config") if mentions_keys(config) else config

    def value(self, scope: Scope, name: Any) -> Any:
        """The value of the key a template asks for; `TemplateRefusal` saying why not."""
        # A name not written in the template was computed, perhaps from a secret: it is
        # never quoted back.
        if not isinstance(name, str):
            raise TemplateRefusal(f"keystore.{scope.value}[...]: a key name is text")
        address = self.owners.address(scope, name)
        if address is None:
            if scope is Scope.USER:
                raise TemplateRefusal(self.owners.no_user)
            raise TemplateRefusal(f"keystore.{scope.value} has no owner here")
        if address not in self.named:
            raise TemplateRefusal(
                f"a key of keystore.{scope.value} is not named literally in the template: keys "
                f"are read before rendering, so write keystore.{scope.value}.NAME or "
                f"keystore.{scope.value}['NAME']"
            )
        key = self.found.get(address)
        if key is None:
            raise TemplateRefusal(f"key {address} not found")
        if not key.encrypted:
            return copy.deepcopy(key.value)
        reading = rendering_parameter()
        if reading is None or reading.name not in self.secret_parameters:
            which = f"parameter {reading.name}" if reading is not None else "this place"
            raise TemplateRefusal(
                f"key {address} is encrypted: only a parameter marked `secret: true` may take "
                f"its value, and {which} is not one"
            )
        reading.read_secret = True
        try:
            value = open_value(self.key_ring, address, key.value)
        except SecretDecryptionError as error:
            audit.key_decrypt_failed(self.reader, address)
            raise TemplateRefusal(f"key {address}: {error}") from None
        audit.key_decrypted(self.reader, address)
        return value


class _ScopeLookup:
    """`keystore.system` and its kin: every attribute or item is a key of the scope.

    No public attribute of its own, so `keystore.system.items` is the key `items`.
    """

    def __init__(self, keys: TemplateKeys, scope: Scope) -> None:
        self._keys = keys
        self._scope = scope

    def __getitem__(self, name: Any) -> Any:
        return self._keys.value(self._scope, name)

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(f"keystore.{self._scope.value} cannot be listed, only read by name")

    def __repr__(self) -> str:
        return f"<keystore.{self._scope.value}>"


class RenderedConfig(Mapping[str, Any]):
    """A pack config whose strings holding key templates render when a template reads them."""

    def __init__(self, config: Mapping[str, Any], keys: TemplateKeys, where: str) -> None:
        self._config = config
        self._keys = keys
        self._where = where

    def __getitem__(self, name: str) -> Any:
        return _rendered(self._config[name], self._keys, f"{self._where} {name}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._config)

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def _rendered(value: Any, keys: TemplateKeys, where: str) -> Any:
    if isinstance(value, str):
        return render_nested(value, keys.names(), where) if _MENTION.search(value) else value
    if isinstance(value, Mapping):
        return RenderedConfig(value, keys, where)
    if isinstance(value, list):
        return [_rendered(item, keys, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


async def read_keys(
    session: AsyncSession,
    templates: Iterable[Any],
    *,
    owners: KeyOwners,
    key_ring: Sequence[bytes],
    secret_parameters: frozenset[str],
    reader: str,
) -> TemplateKeys | None:
    """The keys `templates` name, in one query; None (and no query) when none mentions keys."""
    texts = list(templates)
    if not any(mentions_keys(text) for text in texts):
        return None
    named = frozenset(
        address
        for scope, name in key_references(texts)
        if (address := owners.address(scope, name)) is not None
    )
    rows = await keys.find_many(
        session, [(address.owner_type, address.owner, address.name) for address in named]
    )
    found = {KeyAddress.of(row.owner_type, row.owner, row.name): row for row in rows}
    return TemplateKeys(owners, found, named, tuple(key_ring), secret_parameters, reader)
