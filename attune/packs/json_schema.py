"""Typed access to `jsonschema` (draft 2020-12), which ships without type information.

jsonschema is imported here only, so the rest of the package stays type-checked.

jsonschema's messages quote the value they are about with `%r`, whole: a pack's config,
an event's payload or an inquiry's response would be echoed back in full. Each message
quotes an excerpt instead and is cut to `MAX_MESSAGE_CHARS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from attune.excerpts import excerpt, requoted, shortened
from attune.packs.problems import MAX_MESSAGE_CHARS

if TYPE_CHECKING:
    # referencing exports no name for the resolver class it hands out; typing only.
    from referencing._core import Resolver


@dataclass(frozen=True)
class SchemaViolation:
    """One way a value or a schema is wrong: where (keys and indexes), the keyword, why."""

    path: tuple[str | int, ...]
    keyword: str
    message: str


def schema_violations(schema: Any) -> list[SchemaViolation]:
    """Why `schema` is not a valid draft 2020-12 JSON Schema; empty when it is."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        # check_schema reports the most relevant problem only; one is enough to fix first.
        return [SchemaViolation(tuple(error.path), str(error.validator), _message(error))]
    # check_schema accepts a `$ref` to nowhere; validating would then fail on every value.
    # Remote refs are never fetched, so they count as unresolvable too.
    root = DRAFT202012.create_resource(schema)
    return [
        SchemaViolation(
            (), "$ref", f"{excerpt(ref)} does not resolve (only refs within the schema do)"
        )
        for resolver, ref in _refs(Registry().resolver_with_root(root), root)
        if not _resolves(resolver, ref)
    ]


def _refs(resolver: Resolver[Any], resource: Resource[Any]) -> Iterator[tuple[Resolver[Any], str]]:
    """Every `$ref` in the schema, with the resolver of its scope (nested `$id`s apply)."""
    contents = resource.contents
    if isinstance(contents, Mapping) and isinstance(contents.get("$ref"), str):
        yield resolver, contents["$ref"]
    for sub in resource.subresources():
        yield from _refs(resolver.in_subresource(sub), sub)


def _resolves(resolver: Resolver[Any], ref: str) -> bool:
    try:
        resolver.lookup(ref)
    except Unresolvable:
        return False
    return True


def instance_violations(schema: Mapping[str, Any], instance: Any) -> list[SchemaViolation]:
    """Every way `instance` breaks `schema` (assumed valid), ordered by path."""
    validator = Draft202012Validator(schema)
    try:
        found: list[Any] = list(validator.iter_errors(instance))
    except Unresolvable as error:
        # A schema stored before refs were checked, or written by hand: still no crash.
        message = f"the schema has an unresolvable $ref: {excerpt(error.ref)}"
        return [SchemaViolation((), "$ref", message)]
    violations = [
        SchemaViolation(tuple(error.absolute_path), str(error.validator), _message(error))
        for error in found
    ]
    return sorted(violations, key=lambda violation: [str(part) for part in violation.path])


def _message(error: Any) -> str:
    """A jsonschema error's message, quoting an excerpt of the value it is about, bounded."""
    return shortened(requoted(str(error.message), error.instance), MAX_MESSAGE_CHARS)


def dotted(prefix: str, path: Iterable[str | int]) -> str:
    """`prefix.key[0].inner`: a field name for a path inside a document."""
    text = prefix
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
