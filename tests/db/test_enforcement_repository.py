"""Enforcement repository against the real PostgreSQL: a rule's decisions on events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import null
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Enforcement, EnforcementCondition, EnforcementStatus
from db.repositories import enforcement, event, execution, rule
from tests.db.factories import (
    json_type,
    make_enforcement,
    make_event,
    make_execution,
    make_rule,
    unique,
)
from tests.db.factories_history import ids, newest_first, walk_back


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    a_rule = await make_rule(session)
    an_event = await make_event(session)
    created = await enforcement.repository.create(
        session,
        rule_id=a_rule.id,
        rule_ref=a_rule.ref,
        event_id=an_event.id,
        trigger_ref=a_rule.trigger_ref,
        status=EnforcementStatus.PROCESSED,
        condition=EnforcementCondition.ANY,
        conditions={"payload.level": {"type": "equals", "pattern": "critical"}},
        payload={"level": "critical", "tags": ["a", "b"]},
        parameters={"message": "{{ trigger.level }}", "count": 3},
        error="template failed: 'x' is undefined",
    )
    read = await enforcement.repository.get(session, id=created.id)
    assert read.rule_id == a_rule.id
    assert read.rule_ref == a_rule.ref
    assert read.event_id == an_event.id
    assert read.trigger_ref == a_rule.trigger_ref
    assert read.status is EnforcementStatus.PROCESSED
    assert read.condition is EnforcementCondition.ANY
    assert read.conditions == {"payload.level": {"type": "equals", "pattern": "critical"}}
    assert read.payload == {"level": "critical", "tags": ["a", "b"]}
    assert read.parameters == {"message": "{{ trigger.level }}", "count": 3}
    assert read.error == "template failed: 'x' is undefined"


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await enforcement.repository.create(
        session, rule_ref="gone.rule", trigger_ref="gone.trigger"
    )
    assert created.id > 0
    assert created.rule_id is None
    assert created.event_id is None
    assert created.status is EnforcementStatus.CREATED
    assert created.condition is EnforcementCondition.ALL
    assert created.conditions == {}
    assert created.payload == {}
    assert created.parameters is None
    assert await json_type(session, Enforcement.parameters, created.id) is None
    assert created.error is None
    assert created.created == created.updated


async def test_find_get_update_delete_missing(session: AsyncSession) -> None:
    assert await enforcement.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"enforcement {2**62} not found"):
        await enforcement.repository.get(session, id=2**62)
    with pytest.raises(errors.NotFound):
        await enforcement.repository.update(session, id=2**62, changes={"error": "x"})
    assert await enforcement.repository.delete(session, id=2**62) is False


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_enforcement(session)
    assert await enforcement.repository.delete(session, id=created.id) is True
    assert await enforcement.repository.find(session, id=created.id) is None
    assert await enforcement.repository.delete(session, id=created.id) is False


async def test_update_status_advances_updated(session: AsyncSession) -> None:
    created = await make_enforcement(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await enforcement.repository.update(
        session,
        id=created.id,
        changes={"status": EnforcementStatus.PROCESSED, "parameters": {"x": 1}},
    )
    assert updated.status is EnforcementStatus.PROCESSED
    assert updated.parameters == {"x": 1}
    assert updated.rule_ref == created.rule_ref
    assert updated.updated > first_updated
    assert updated.created == first_created


@pytest.mark.parametrize("status", list(EnforcementStatus))
async def test_every_status_is_stored(session: AsyncSession, status: EnforcementStatus) -> None:
    created = await make_enforcement(session, status=status)
    read = await enforcement.repository.get(session, id=created.id)
    assert read.status is status


@pytest.mark.parametrize("condition", list(EnforcementCondition))
async def test_every_condition_is_stored(
    session: AsyncSession, condition: EnforcementCondition
) -> None:
    created = await make_enforcement(session, condition=condition)
    read = await enforcement.repository.get(session, id=created.id)
    assert read.condition is condition


@pytest.mark.parametrize(("field", "value"), [("status", "done"), ("condition", "ALL")])
async def test_unknown_enum_value_is_a_validation_error(
    session: AsyncSession, field: str, value: str
) -> None:
    values: dict[str, Any] = {field: value}
    with pytest.raises(errors.ValidationError, match="invalid input value for enum") as raised:
        await make_enforcement(session, **values)
    assert raised.value.details["sqlstate"] == "22P02"


async def test_list_by_rule_is_newest_first_and_pages_back(session: AsyncSession) -> None:
    a_rule = await make_rule(session)
    other = await make_enforcement(session)
    ours = [await make_enforcement(session, by=a_rule) for _ in range(5)]
    listed = await enforcement.list_by_rule(session, rule_id=a_rule.id)
    assert ids(listed) == newest_first(ours)
    assert other.id not in ids(listed)
    walked = await walk_back(
        lambda before: enforcement.list_by_rule(
            session, rule_id=a_rule.id, limit=2, before_id=before
        )
    )
    assert walked == newest_first(ours)
    older = await enforcement.list_by_rule(session, rule_id=a_rule.id, before_id=ours[2].id)
    assert ids(older) == [ours[1].id, ours[0].id]


async def test_list_by_rule_empty_and_bounded(session: AsyncSession) -> None:
    idle = await make_rule(session)
    assert await enforcement.list_by_rule(session, rule_id=idle.id) == []
    with pytest.raises(errors.ValidationError, match="limit"):
        await enforcement.list_by_rule(session, rule_id=idle.id, limit=0)


async def test_list_by_event_is_newest_first_and_pages_back(session: AsyncSession) -> None:
    an_event = await make_event(session)
    await make_enforcement(session)
    ours = [await make_enforcement(session, of=an_event) for _ in range(3)]
    listed = await enforcement.list_by_event(session, event_id=an_event.id)
    assert ids(listed) == newest_first(ours)
    walked = await walk_back(
        lambda before: enforcement.list_by_event(
            session, event_id=an_event.id, limit=1, before_id=before
        )
    )
    assert walked == newest_first(ours)
    assert await enforcement.list_by_event(session, event_id=(await make_event(session)).id) == []


async def test_list_by_status_is_newest_first_and_filters(session: AsyncSession) -> None:
    a_rule = await make_rule(session)
    processed = [
        await make_enforcement(session, by=a_rule, status=EnforcementStatus.PROCESSED)
        for _ in range(3)
    ]
    disabled = await make_enforcement(session, by=a_rule, status=EnforcementStatus.DISABLED)
    mine = set(ids(processed))

    listed = await enforcement.list_by_status(
        session, status=EnforcementStatus.PROCESSED, limit=1000
    )
    assert all(found.status is EnforcementStatus.PROCESSED for found in listed)
    assert ids(listed) == sorted(ids(listed), reverse=True)
    assert [i for i in ids(listed) if i in mine] == newest_first(processed)
    assert disabled.id not in ids(listed)

    page = await enforcement.list_by_status(
        session, status=EnforcementStatus.PROCESSED, limit=2, before_id=processed[2].id
    )
    assert ids(page) == [processed[1].id, processed[0].id]
    # Nothing is older than the first id.
    assert (
        await enforcement.list_by_status(session, status=EnforcementStatus.PROCESSED, before_id=1)
        == []
    )


async def test_deleting_the_rule_keeps_the_enforcement_and_its_ref(session: AsyncSession) -> None:
    a_rule = await make_rule(session)
    created = await make_enforcement(session, by=a_rule)
    assert await rule.repository.delete(session, id=a_rule.id) is True
    kept = await enforcement.repository.get(session, id=created.id)
    assert kept.rule_id is None
    assert kept.rule_ref == a_rule.ref
    assert kept.event_id == created.event_id


async def test_deleting_the_event_keeps_the_enforcement(session: AsyncSession) -> None:
    an_event = await make_event(session)
    created = await make_enforcement(session, of=an_event)
    assert await event.repository.delete(session, id=an_event.id) is True
    kept = await enforcement.repository.get(session, id=created.id)
    assert kept.event_id is None
    assert kept.trigger_ref == created.trigger_ref
    assert kept.rule_id == created.rule_id


async def test_deleting_an_enforcement_keeps_its_executions(session: AsyncSession) -> None:
    created = await make_enforcement(session)
    an_execution = await make_execution(session, enforcement_id=created.id)
    assert await enforcement.repository.delete(session, id=created.id) is True
    kept = await execution.repository.get(session, id=an_execution.id)
    assert kept.enforcement_id is None
    assert kept.action_ref == an_execution.action_ref


@pytest.mark.parametrize(
    ("field", "constraint"),
    [("rule_id", "fk_enforcement_rule_id_rule"), ("event_id", "fk_enforcement_event_id_event")],
)
async def test_unknown_reference_is_a_validation_error(
    session: AsyncSession, field: str, constraint: str
) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await enforcement.repository.create(
            session, rule_ref="p.r", trigger_ref="p.t", **{field: 2**63 - 1}
        )
    assert raised.value.details["constraint"] == constraint


@pytest.mark.parametrize("missing", ["rule_ref", "trigger_ref"])
async def test_missing_required_ref_names_it(session: AsyncSession, missing: str) -> None:
    values = {"rule_ref": "p.r", "trigger_ref": "p.t"}
    del values[missing]
    with pytest.raises(errors.ValidationError, match=f"{missing} is required"):
        await enforcement.repository.create(session, **values)


async def test_json_fields_round_trip(session: AsyncSession) -> None:
    nested = {"a": [{"b": {"c": [None, 1, "x"]}}], "unicode": "ü🚀"}
    created = await make_enforcement(session, conditions={}, payload=nested, parameters={})
    read = await enforcement.repository.get(session, id=created.id)
    assert read.conditions == {}
    assert read.payload == nested
    assert read.parameters == {}
    assert await json_type(session, Enforcement.parameters, created.id) == "object"


async def test_parameters_json_null_differs_from_sql_null(session: AsyncSession) -> None:
    json_null = await make_enforcement(session, parameters=None)
    sql_null = await make_enforcement(session, parameters=null())
    assert (await enforcement.repository.get(session, id=json_null.id)).parameters is None
    assert (await enforcement.repository.get(session, id=sql_null.id)).parameters is None
    assert await json_type(session, Enforcement.parameters, json_null.id) == "null"
    assert await json_type(session, Enforcement.parameters, sql_null.id) is None


@pytest.mark.parametrize("column", ["conditions", "payload"])
async def test_required_json_sql_null_is_refused(session: AsyncSession, column: str) -> None:
    values: dict[str, Any] = {column: null()}
    with pytest.raises(errors.ValidationError, match=f"{column} is required"):
        await make_enforcement(session, **values)


async def test_very_long_and_special_strings_round_trip(session: AsyncSession) -> None:
    long_error = "E" * 100_000
    special = "Ünïcödé 🚀 'quotes' \"double\" \\ back; DROP TABLE enforcement; --"
    created = await make_enforcement(
        session, error=long_error, rule_ref=special, trigger_ref=unique("t") + "." + "y" * 5000
    )
    read = await enforcement.repository.get(session, id=created.id)
    assert read.error == long_error
    assert read.rule_ref == special
    assert read.trigger_ref == created.trigger_ref
