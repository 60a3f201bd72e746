"""Action repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import null
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Action
from db.repositories import action, execution, pack, policy, rule
from tests.db.factories import json_type, make_action, make_execution, make_pack, make_rule, unique
from tests.db.factories_definitions import make_policy, tables_emptied


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    owner = await make_pack(session)
    created = await action.repository.create(
        session,
        ref=f"{owner.ref}.deploy",
        pack_id=owner.id,
        pack_ref=owner.ref,
        name="deploy",
        label="Deploy",
        description="Deploys a service",
        runner_type="python",
        entry_point="actions/deploy.py",
        parameters={"type": "object", "properties": {"service": {"type": "string"}}},
        output_schema={"type": "object", "properties": {"url": {"type": "string"}}},
        timeout_seconds=600,
        enabled=False,
    )
    read = await action.repository.get(session, id=created.id)
    assert read.ref == f"{owner.ref}.deploy"
    assert read.pack_id == owner.id
    assert read.pack_ref == owner.ref
    assert read.name == "deploy"
    assert read.label == "Deploy"
    assert read.description == "Deploys a service"
    assert read.runner_type == "python"
    assert read.entry_point == "actions/deploy.py"
    assert read.parameters["properties"]["service"] == {"type": "string"}
    assert read.output_schema == {"type": "object", "properties": {"url": {"type": "string"}}}
    assert read.timeout_seconds == 600
    assert read.enabled is False


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await make_action(session)
    assert created.id > 0
    assert created.label is None
    assert created.description is None
    assert created.entry_point == ""
    assert created.parameters == {}
    assert created.output_schema is None
    assert created.timeout_seconds is None
    assert created.enabled is True
    assert created.created == created.updated
    assert await json_type(session, Action.output_schema, created.id) is None


async def test_missing_runner_type_is_named(session: AsyncSession) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match="runner_type is required"):
        await action.repository.create(
            session, ref=f"{owner.ref}.x", pack_id=owner.id, pack_ref=owner.ref, name="x"
        )


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await action.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"action {2**62} not found"):
        await action.repository.get(session, id=2**62)
    missing = f"{unique('nope')}.x"
    assert await action.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound, match=missing):
        await action.repository.get_by_key(session, missing)


async def test_find_by_ref(session: AsyncSession) -> None:
    created = await make_action(session)
    assert (await action.repository.get_by_key(session, created.ref)).id == created.id


async def test_partial_update_and_update_missing(session: AsyncSession) -> None:
    created = await make_action(session, timeout_seconds=5, description="before")
    updated = await action.repository.update(
        session, id=created.id, changes={"enabled": False, "timeout_seconds": None}
    )
    assert updated.enabled is False
    assert updated.timeout_seconds is None
    assert updated.description == "before"
    assert updated.runner_type == "noop"
    with pytest.raises(errors.NotFound):
        await action.repository.update(session, id=2**62, changes={"enabled": False})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_action(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await action.repository.update(session, id=created.id, changes={"label": "New"})
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_action(session)
    assert await action.repository.delete(session, id=created.id) is True
    assert await action.repository.find(session, id=created.id) is None
    assert await action.repository.delete(session, id=created.id) is False


async def test_deleting_the_pack_deletes_its_actions(session: AsyncSession) -> None:
    owner = await make_pack(session)
    owned = await make_action(session, owner)
    other = await make_action(session)
    await pack.repository.delete(session, id=owner.id)
    assert await action.repository.find(session, id=owned.id) is None
    assert await action.repository.find(session, id=other.id) is not None


async def test_deleting_an_action_keeps_executions_rules_and_policies_by_ref(
    session: AsyncSession,
) -> None:
    doomed = await make_action(session)
    an_execution = await make_execution(session, doomed)
    a_rule = await make_rule(session, runs=doomed)
    a_policy = await make_policy(session, on=doomed)
    await action.repository.delete(session, id=doomed.id)

    kept_execution = await execution.repository.get(session, id=an_execution.id)
    assert kept_execution.action_id is None
    assert kept_execution.action_ref == doomed.ref
    kept_rule = await rule.repository.get(session, id=a_rule.id)
    assert kept_rule.action_id is None
    assert kept_rule.action_ref == doomed.ref
    kept_policy = await policy.repository.get(session, id=a_policy.id)
    assert kept_policy.action_id is None
    assert kept_policy.action_ref == doomed.ref


async def test_unknown_pack_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await action.repository.create(
            session, ref="ghost.x", pack_id=2**62, pack_ref="ghost", name="x", runner_type="noop"
        )
    assert raised.value.details["constraint"] == "fk_action_pack_id_pack"


async def test_duplicate_ref_is_a_conflict_naming_the_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    created = await make_action(session, owner)
    with pytest.raises(errors.Conflict) as raised:
        await make_action(session, owner, name=created.name)
    assert created.ref in raised.value.message
    assert raised.value.details["constraint"] == "uq_action_ref"


@pytest.mark.parametrize(
    ("pack_ref", "name"),
    [
        ("core", "Echo"),  # upper case
        ("Core", "echo"),
        ("core", "ec ho"),
        ("core", "écho"),
        ("core", ""),  # nothing after the dot
        ("", "echo"),  # nothing before it
    ],
)
async def test_malformed_ref_is_a_validation_error(
    session: AsyncSession, pack_ref: str, name: str
) -> None:
    owner = await make_pack(session)
    # ref = pack_ref.name holds, so only the format is broken.
    with pytest.raises(errors.ValidationError, match="lowercase") as raised:
        await make_action(session, owner, ref=f"{pack_ref}.{name}", pack_ref=pack_ref, name=name)
    assert raised.value.details["constraint"] == "ck_action_ref_format"


@pytest.mark.parametrize(
    ("ref", "pack_ref", "name"),
    [
        ("core.echo", "core", "other"),
        ("core.echo", "other", "echo"),
        ("core.echo", "cor", "e.echo"),
    ],
)
async def test_ref_not_made_of_its_parts_is_a_validation_error(
    session: AsyncSession, ref: str, pack_ref: str, name: str
) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match=r"must equal `pack_ref\.name`") as raised:
        await make_action(session, owner, ref=ref, pack_ref=pack_ref, name=name)
    assert raised.value.details["constraint"] == "ck_action_ref_parts"


async def test_dots_in_the_name_are_allowed(session: AsyncSession) -> None:
    created = await make_action(session, name="group.sub-task_2")
    assert created.ref.endswith(".group.sub-task_2")


@pytest.mark.parametrize("seconds", [0, -1, -(2**31)])
async def test_non_positive_timeout_is_a_validation_error(
    session: AsyncSession, seconds: int
) -> None:
    with pytest.raises(errors.ValidationError, match="greater than 0") as raised:
        await make_action(session, timeout_seconds=seconds)
    assert raised.value.details["constraint"] == "ck_action_timeout_positive"


async def test_timeout_fits_an_integer(session: AsyncSession) -> None:
    created = await make_action(session, timeout_seconds=2**31 - 1)
    assert (await action.repository.get(session, id=created.id)).timeout_seconds == 2**31 - 1


async def test_timeout_beyond_integer_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError):
        await make_action(session, timeout_seconds=2**31)


async def test_list_by_pack_filters_and_orders_by_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    for name in ("c", "a", "b"):
        await make_action(session, owner, name=name, enabled=name != "b")
    await make_action(session)
    listed = await action.list_by_pack(session, pack_id=owner.id)
    assert [a.ref for a in listed] == [f"{owner.ref}.a", f"{owner.ref}.b", f"{owner.ref}.c"]
    limited = await action.list_by_pack(session, pack_id=owner.id, limit=2)
    assert [a.name for a in limited] == ["a", "b"]


async def test_list_by_pack_empty(session: AsyncSession) -> None:
    empty = await make_pack(session)
    await make_action(session)
    assert await action.list_by_pack(session, pack_id=empty.id) == []


async def test_list_enabled_leaves_out_disabled_and_orders_by_ref(session: AsyncSession) -> None:
    owner = await make_pack(session)
    for name in ("c", "a", "b"):
        await make_action(session, owner, name=name)
    disabled = await make_action(session, owner, name="aa", enabled=False)
    listed = await action.list_enabled(session, limit=1000)
    assert [a.name for a in listed if a.pack_id == owner.id] == ["a", "b", "c"]
    assert disabled.id not in {a.id for a in listed}
    assert all(a.enabled for a in listed)
    assert [a.ref for a in listed] == sorted(a.ref for a in listed)
    assert len(await action.list_enabled(session, limit=2)) == 2


async def test_list_enabled_empty(session: AsyncSession) -> None:
    await make_action(session)
    async with tables_emptied(session, Action):
        await make_action(session, enabled=False)
        assert await action.list_enabled(session) == []


@pytest.mark.parametrize("limit", [0, 1001])
async def test_specialized_lists_refuse_unbounded_limits(session: AsyncSession, limit: int) -> None:
    with pytest.raises(errors.ValidationError, match="limit"):
        await action.list_by_pack(session, pack_id=1, limit=limit)
    with pytest.raises(errors.ValidationError, match="limit"):
        await action.list_enabled(session, limit=limit)


async def test_json_fields_empty_nested_json_null_and_sql_null(session: AsyncSession) -> None:
    nested = {"a": {"b": {"c": [1, None, {"d": "e"}]}}, "f": None}
    empty = await make_action(session, parameters={}, output_schema={})
    deep = await make_action(session, parameters=nested, output_schema=nested)
    json_null = await make_action(session, output_schema=None)
    sql_null = await make_action(session, output_schema=null())

    assert (await action.repository.get(session, id=empty.id)).output_schema == {}
    assert await json_type(session, Action.output_schema, empty.id) == "object"
    read = await action.repository.get(session, id=deep.id)
    assert read.parameters == nested
    assert read.output_schema == nested
    # Python None is stored as JSON null (SQLAlchemy's JSON default); null() as SQL NULL.
    assert await json_type(session, Action.output_schema, json_null.id) == "null"
    assert (await action.repository.get(session, id=sql_null.id)).output_schema is None
    assert await json_type(session, Action.output_schema, sql_null.id) is None


async def test_long_and_special_text_round_trips(session: AsyncSession) -> None:
    name = unique("long") + "-" * 2000 + ".x"
    description = "Ünïcödé 🚀 'q' \"d\" \\ ; DROP TABLE action; --\x01"
    created = await make_action(session, name=name, description=description, entry_point="é/ü.py")
    read = await action.repository.get_by_key(session, created.ref)
    assert read.name == name
    assert read.description == description
    assert read.entry_point == "é/ü.py"
