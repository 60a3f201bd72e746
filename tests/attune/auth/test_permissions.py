"""Grants: deny by default, scoped to packs and refs, a pack's passing down to its content."""

from __future__ import annotations

import pytest

from attune import errors
from attune.auth.permissions import (
    BUILT_IN,
    Grant,
    Permissions,
    Resource,
    Verb,
    parse_grants,
)


def permissions(*raw: dict[str, object]) -> Permissions:
    return Permissions.of(parse_grants(list(raw)))


def test_nothing_is_allowed_without_a_grant() -> None:
    none = Permissions()

    assert not none.allows(Resource.ACTION, Verb.VIEW, pack="a", ref="a.x")
    assert not none.allows_some(Resource.EXECUTION, Verb.VIEW)
    assert none.visibility(Resource.EXECUTION).nothing


def test_an_unscoped_grant_allows_its_verbs_on_every_item_and_no_other_verb() -> None:
    viewer = permissions({"resource": "action", "verbs": ["view"]})

    assert viewer.allows(Resource.ACTION, Verb.VIEW, pack="a", ref="a.x")
    assert not viewer.allows(Resource.ACTION, Verb.EXECUTE, pack="a", ref="a.x")
    assert not viewer.allows(Resource.RULE, Verb.VIEW, pack="a", ref="a.r")
    assert viewer.visibility(Resource.ACTION).everything


def test_a_grant_scoped_to_packs_or_refs_covers_those_items_only() -> None:
    scoped = permissions(
        {"resource": "action", "verbs": ["execute"], "packs": ["a"]},
        {"resource": "action", "verbs": ["execute"], "refs": ["b.deploy"]},
    )

    assert scoped.allows(Resource.ACTION, Verb.EXECUTE, pack="a", ref="a.x")
    assert scoped.allows(Resource.ACTION, Verb.EXECUTE, pack="b", ref="b.deploy")
    assert not scoped.allows(Resource.ACTION, Verb.EXECUTE, pack="b", ref="b.other")
    assert not scoped.allows(Resource.ACTION, Verb.EXECUTE, pack=None, ref=None)
    assert scoped.allows_some(Resource.ACTION, Verb.EXECUTE)
    shown = scoped.visibility(Resource.ACTION, Verb.EXECUTE)
    assert (shown.everything, shown.packs, shown.refs) == (
        False,
        frozenset({"a"}),
        frozenset({"b.deploy"}),
    )


def test_a_pack_grant_passes_down_to_the_packs_content() -> None:
    team = permissions({"resource": "pack", "verbs": ["view", "execute"], "refs": ["deploy"]})

    assert team.allows(Resource.PACK, Verb.VIEW, ref="deploy")
    assert not team.allows(Resource.PACK, Verb.VIEW, ref="other")
    for resource in (Resource.ACTION, Resource.RULE, Resource.EXECUTION, Resource.KEY):
        assert team.allows(resource, Verb.VIEW, pack="deploy", ref="deploy.x")
        assert not team.allows(resource, Verb.VIEW, pack="other", ref="other.x")
    assert team.allows(Resource.ACTION, Verb.EXECUTE, pack="deploy", ref="deploy.x")
    assert not team.allows(Resource.IDENTITY, Verb.VIEW, ref="alice")
    assert team.visibility(Resource.EXECUTION).packs == {"deploy"}


def test_the_built_in_sets() -> None:
    admin, operator, observer = (Permissions.of(BUILT_IN[name][1]) for name in BUILT_IN)

    assert admin.allows(Resource.KEY, Verb.DECRYPT, pack=None, ref="db")
    assert admin.allows(Resource.AUDIT, Verb.VIEW)
    assert operator.allows(Resource.ACTION, Verb.EXECUTE, pack="a", ref="a.x")
    assert operator.allows(Resource.INQUIRY, Verb.RESPOND, pack="a")
    assert operator.allows(Resource.KEY, Verb.MODIFY, ref="db")
    assert not operator.allows(Resource.KEY, Verb.DECRYPT, ref="db")
    assert not operator.allows(Resource.POLICY, Verb.MODIFY, pack="a")
    assert not operator.allows(Resource.AUDIT, Verb.VIEW)
    assert observer.allows(Resource.EXECUTION, Verb.VIEW, pack="a")
    assert not observer.allows(Resource.KEY, Verb.VIEW, ref="db")
    assert not observer.allows(Resource.ACTION, Verb.EXECUTE, pack="a")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"resource": "rocket", "verbs": ["view"]}, "grants[0].resource"),
        ({"resource": "action", "verbs": []}, "grants[0].verbs"),
        ({"resource": "action", "verbs": ["decrypt"]}, "grants[0].verbs[0]"),
        ({"resource": "key", "verbs": ["view", "fly"]}, "grants[0].verbs[1]"),
        ({"resource": "action", "verbs": ["view"], "packs": "a"}, "grants[0].packs"),
        ({"resource": "action", "verbs": ["view"], "colour": "red"}, "grants[0]"),
    ],
)
def test_a_bad_grant_is_refused_naming_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(errors.ValidationError) as refused:
        parse_grants([raw])

    assert refused.value.details["field"] == field


def test_grants_read_back_as_written() -> None:
    grant = Grant(Resource.ACTION, frozenset({Verb.VIEW, Verb.EXECUTE}), packs=frozenset({"a"}))

    assert parse_grants([grant.to_json()]) == [grant]
