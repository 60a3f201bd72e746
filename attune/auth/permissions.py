"""What a caller may do: grants of verbs on resources, optionally scoped to packs or refs.

A permission set is a named list of grants. A grant `{resource, verbs, packs?, refs?}`
allows its verbs on its resource: on every item when it names no packs and no refs, else
on the items of those packs and on those refs. A grant on `pack` passes down to the
pack's content (its actions, triggers, rules, sensors, policies, executions, events,
enforcements, inquiries, artifacts and pack-scoped keys), for the verbs that mean
something there: `{resource: pack, verbs: [view, execute], refs: [deploy]}` lets its
holder view pack `deploy` and everything in it, and run its actions.

Deny by default: a caller holds the union of its sets' grants, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from attune import errors


class Resource(StrEnum):
    PACK = "pack"
    ACTION = "action"
    TRIGGER = "trigger"
    RULE = "rule"
    POLICY = "policy"
    SENSOR = "sensor"
    EVENT = "event"
    ENFORCEMENT = "enforcement"
    EXECUTION = "execution"
    INQUIRY = "inquiry"
    KEY = "key"
    ARTIFACT = "artifact"
    IDENTITY = "identity"
    PERMISSION_SET = "permission_set"
    AUDIT = "audit"
    WORKER = "worker"


class Verb(StrEnum):
    VIEW = "view"
    CREATE = "create"
    MODIFY = "modify"
    DELETE = "delete"
    EXECUTE = "execute"
    RESPOND = "respond"
    DECRYPT = "decrypt"
    CANCEL = "cancel"


_MANAGE = frozenset({Verb.VIEW, Verb.CREATE, Verb.MODIFY, Verb.DELETE})
VERBS: Mapping[Resource, frozenset[Verb]] = {
    Resource.PACK: _MANAGE | {Verb.EXECUTE, Verb.CANCEL, Verb.RESPOND, Verb.DECRYPT},
    Resource.ACTION: _MANAGE | {Verb.EXECUTE},
    Resource.TRIGGER: _MANAGE,
    Resource.RULE: _MANAGE,
    Resource.POLICY: _MANAGE,
    Resource.SENSOR: _MANAGE,
    Resource.EVENT: frozenset({Verb.VIEW, Verb.CREATE}),
    Resource.ENFORCEMENT: frozenset({Verb.VIEW}),
    Resource.EXECUTION: frozenset({Verb.VIEW, Verb.CANCEL}),
    Resource.INQUIRY: frozenset({Verb.VIEW, Verb.RESPOND}),
    Resource.KEY: _MANAGE | {Verb.DECRYPT},
    Resource.ARTIFACT: _MANAGE,
    Resource.IDENTITY: _MANAGE,
    Resource.PERMISSION_SET: _MANAGE,
    Resource.AUDIT: frozenset({Verb.VIEW}),
    Resource.WORKER: frozenset({Verb.VIEW}),
}
"""The verbs that mean something on each resource; a grant of any other is refused.
A pack's verbs are those of its content, since they pass down."""

PACK_CONTENT = frozenset(
    {
        Resource.ACTION,
        Resource.TRIGGER,
        Resource.RULE,
        Resource.POLICY,
        Resource.SENSOR,
        Resource.EVENT,
        Resource.ENFORCEMENT,
        Resource.EXECUTION,
        Resource.INQUIRY,
        Resource.KEY,
        Resource.ARTIFACT,
    }
)
"""What a grant on `pack` passes down to."""


@dataclass(frozen=True)
class Grant:
    resource: Resource
    verbs: frozenset[Verb]
    # None: every pack (and every ref); else only these.
    packs: frozenset[str] | None = None
    refs: frozenset[str] | None = None
    # A built-in set's grant on packs themselves, beside grants on each kind of content.
    passes_down: bool = True

    @property
    def is_unscoped(self) -> bool:
        return self.packs is None and self.refs is None

    def reaches(self, resource: Resource) -> bool:
        return self.resource == resource or (
            self.passes_down and self.resource == Resource.PACK and resource in PACK_CONTENT
        )

    def covers(self, resource: Resource, *, pack: str | None, ref: str | None) -> bool:
        """Whether the grant's scope holds the item of `pack` (None: of no pack) and `ref`."""
        if self.is_unscoped:
            return True
        if self.resource == Resource.PACK:
            # A pack grant's packs and refs both name packs; a pack's own ref is its name.
            named = (self.packs or frozenset()) | (self.refs or frozenset())
            home = ref if resource == Resource.PACK else pack
            return home is not None and home in named
        return (self.packs is not None and pack is not None and pack in self.packs) or (
            self.refs is not None and ref is not None and ref in self.refs
        )

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"resource": self.resource.value, "verbs": sorted(self.verbs)}
        if self.packs is not None:
            shown["packs"] = sorted(self.packs)
        if self.refs is not None:
            shown["refs"] = sorted(self.refs)
        return shown


@dataclass(frozen=True)
class Visibility:
    """Which items of a resource a caller may see: all of them, or those of some packs and
    refs (what a list filters to)."""

    everything: bool
    packs: frozenset[str] = frozenset()
    refs: frozenset[str] = frozenset()

    @property
    def nothing(self) -> bool:
        return not self.everything and not self.packs and not self.refs


@dataclass(frozen=True)
class Permissions:
    """The union of a caller's grants."""

    grants: tuple[Grant, ...] = ()

    @classmethod
    def of(cls, grants: Iterable[Grant]) -> Permissions:
        return cls(tuple(grants))

    def allows(
        self, resource: Resource, verb: Verb, *, pack: str | None = None, ref: str | None = None
    ) -> bool:
        """Whether `verb` is allowed on the item of `resource` in `pack` named `ref`."""
        return any(
            verb in grant.verbs
            and grant.reaches(resource)
            and grant.covers(resource, pack=pack, ref=ref)
            for grant in self.grants
        )

    def allows_some(self, resource: Resource, verb: Verb) -> bool:
        """Whether `verb` is allowed on at least some items of `resource` (a route's gate)."""
        return any(verb in grant.verbs and grant.reaches(resource) for grant in self.grants)

    def visibility(self, resource: Resource, verb: Verb = Verb.VIEW) -> Visibility:
        """The items of `resource` on which `verb` is allowed, as a list filter."""
        packs: set[str] = set()
        refs: set[str] = set()
        for grant in self.grants:
            if verb not in grant.verbs or not grant.reaches(resource):
                continue
            if grant.is_unscoped:
                return Visibility(everything=True)
            if grant.resource == Resource.PACK and resource != Resource.PACK:
                packs |= (grant.packs or frozenset()) | (grant.refs or frozenset())
            else:
                packs |= grant.packs or frozenset()
                refs |= grant.refs or frozenset()
        return Visibility(everything=False, packs=frozenset(packs), refs=frozenset(refs))


def missing(resource: Resource, verb: Verb, *, ref: str | None = None) -> errors.PermissionDenied:
    """The 403 naming the permission a caller lacks."""
    on = f" {ref!r}" if ref is not None else ""
    return errors.PermissionDenied(
        f"permission denied: needs {verb.value} on {resource.value}{on}",
        details={"resource": resource.value, "verb": verb.value},
    )


def parse_grants(raw: Sequence[Any], *, field: str = "grants") -> list[Grant]:
    """Grants from their JSON form; `ValidationError` naming the field of a bad one."""
    if not isinstance(raw, list):
        raise errors.ValidationError(f"{field}: must be a list", details={"field": field})
    return [_parse_grant(item, f"{field}[{index}]") for index, item in enumerate(raw)]


def _parse_grant(item: Any, where: str) -> Grant:
    if not isinstance(item, Mapping):
        raise _invalid(where, "must be an object {resource, verbs, packs?, refs?}")
    unknown = set(item) - {"resource", "verbs", "packs", "refs"}
    if unknown:
        raise _invalid(where, f"unknown field {sorted(unknown)[0]!r}")
    try:
        resource = Resource(str(item.get("resource")))
    except ValueError:
        names = ", ".join(member.value for member in Resource)
        raise _invalid(f"{where}.resource", f"must be one of {names}") from None
    verbs_raw = item.get("verbs")
    if not isinstance(verbs_raw, list) or not verbs_raw:
        raise _invalid(f"{where}.verbs", "must be a non-empty list")
    allowed = VERBS[resource]
    verbs: set[Verb] = set()
    for index, verb_raw in enumerate(verbs_raw):
        try:
            verb = Verb(verb_raw)
        except ValueError:
            verb = None
        if verb is None or verb not in allowed:
            choices = ", ".join(sorted(allowed))
            raise _invalid(f"{where}.verbs[{index}]", f"on {resource.value}: one of {choices}")
        verbs.add(verb)
    return Grant(
        resource,
        frozenset(verbs),
        packs=_names(item, "packs", where),
        refs=_names(item, "refs", where),
    )


def _names(item: Mapping[str, Any], name: str, where: str) -> frozenset[str] | None:
    if name not in item or item[name] is None:
        return None
    value = item[name]
    if not isinstance(value, list) or not all(isinstance(part, str) and part for part in value):
        raise _invalid(f"{where}.{name}", "must be a list of non-empty strings")
    return frozenset(value)


def _invalid(field: str, message: str) -> errors.ValidationError:
    return errors.ValidationError(f"{field}: {message}", details={"field": field})


def everything() -> list[Grant]:
    """`admin`'s grants: every verb on every resource."""
    return [Grant(resource, verbs) for resource, verbs in VERBS.items()]


def _view_all(but: frozenset[Resource] = frozenset()) -> list[Grant]:
    # Each resource on its own, so that what is left out (keys) stays out.
    return [
        Grant(resource, frozenset({Verb.VIEW}), passes_down=False)
        for resource in Resource
        if resource not in but and resource != Resource.AUDIT
    ]


BUILT_IN: Mapping[str, tuple[str, list[Grant]]] = {
    "admin": ("Everything, on everything.", everything()),
    "operator": (
        "Views everything; runs actions, cancels executions, answers inquiries, manages "
        "rules and keys (without decrypting).",
        [
            *_view_all(),
            Grant(Resource.ACTION, frozenset({Verb.EXECUTE})),
            Grant(Resource.EXECUTION, frozenset({Verb.CANCEL})),
            Grant(Resource.INQUIRY, frozenset({Verb.RESPOND})),
            Grant(Resource.RULE, _MANAGE),
            Grant(Resource.KEY, _MANAGE),
        ],
    ),
    "observer": (
        "Views everything but keys.",
        _view_all(but=frozenset({Resource.KEY})),
    ),
}
"""The permission sets every installation has; they cannot be changed or deleted."""
