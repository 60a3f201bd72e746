"""The route-side access checks: the gate, items (404 before 403), and list filters."""

from __future__ import annotations

import pytest
from fastapi import Request
from sqlalchemy import ColumnElement, String, column
from sqlalchemy.dialects.postgresql import dialect as postgresql_dialect

from api.access import check_item, requires, visible_clause
from api.auth import PERMISSIONS_SCOPE_KEY
from attune import errors
from attune.auth.permissions import Permissions, Resource, Verb, parse_grants

DIALECT = postgresql_dialect()  # type: ignore[no-untyped-call]
TEAM = Permissions.of(
    parse_grants([{"resource": "pack", "verbs": ["view", "execute"], "refs": ["deploy"]}])
)


def test_an_item_the_caller_may_not_view_is_not_found_and_one_it_may_view_is_a_403() -> None:
    with pytest.raises(errors.NotFound, match="action not found"):
        check_item(TEAM, Resource.ACTION, Verb.EXECUTE, pack="other", ref="other.x", noun="action")
    with pytest.raises(errors.PermissionDenied, match=r"needs delete on action 'deploy\.x'"):
        check_item(TEAM, Resource.ACTION, Verb.DELETE, pack="deploy", ref="deploy.x", noun="action")
    check_item(TEAM, Resource.ACTION, Verb.EXECUTE, pack="deploy", ref="deploy.x", noun="action")


def sql(clause: ColumnElement[bool]) -> str:
    compiled = clause.compile(dialect=DIALECT, compile_kwargs={"literal_binds": True})
    return str(compiled)


def test_a_list_filters_to_the_visible_packs_and_refs() -> None:
    pack, ref = column("pack_ref", String), column("ref", String)

    assert sql(visible_clause(TEAM.visibility(Resource.EXECUTION), pack=pack, ref=ref)) == (
        "pack_ref IN ('deploy')"
    )
    assert (
        sql(visible_clause(Permissions().visibility(Resource.EXECUTION), pack=pack, ref=ref))
        == "false"
    )
    everything = Permissions.of(parse_grants([{"resource": "execution", "verbs": ["view"]}]))
    assert (
        sql(visible_clause(everything.visibility(Resource.EXECUTION), pack=pack, ref=ref)) == "true"
    )


async def gate(permissions: Permissions | None) -> Permissions:
    scope: dict[str, object] = {"type": "http", "headers": []}
    if permissions is not None:
        scope[PERMISSIONS_SCOPE_KEY] = permissions
    dependency = requires(Resource.ACTION, Verb.EXECUTE).dependency
    allowed: Permissions = await dependency(Request(scope))
    return allowed


async def test_the_gate_refuses_a_caller_without_the_verb_anywhere() -> None:
    assert await gate(TEAM) is TEAM
    for nobody in (Permissions(), None):
        with pytest.raises(errors.PermissionDenied) as refused:
            await gate(nobody)
        assert refused.value.message == "permission denied: needs execute on action"
