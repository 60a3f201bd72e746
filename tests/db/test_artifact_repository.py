"""Artifact repository against the real PostgreSQL: execution outputs kept by retention."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import null
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Artifact, ArtifactType, OwnerType, RetentionPolicy
from db.repositories import artifact, execution
from tests.db.factories import json_type, make_execution, unique
from tests.db.factories_history import ids, make_artifact, newest_first, walk_back


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    an_execution = await make_execution(session)
    ref = unique("report")
    data = {"path": "/artifacts/report.csv", "columns": ["a", "b"], "rows": 2}
    created = await artifact.repository.create(
        session,
        ref=ref,
        scope=OwnerType.ACTION,
        owner="core.echo",
        artifact_type=ArtifactType.FILE_DATATABLE,
        retention_policy=RetentionPolicy.DAYS,
        retention_limit=30,
        data=data,
        execution_id=an_execution.id,
    )
    read = await artifact.repository.get(session, id=created.id)
    assert read.ref == ref
    assert read.scope is OwnerType.ACTION
    assert read.owner == "core.echo"
    assert read.artifact_type is ArtifactType.FILE_DATATABLE
    assert read.retention_policy is RetentionPolicy.DAYS
    assert read.retention_limit == 30
    assert read.data == data
    assert read.execution_id == an_execution.id


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await artifact.repository.create(
        session, ref=unique("a"), artifact_type=ArtifactType.URL
    )
    assert created.id > 0
    assert created.scope is OwnerType.SYSTEM
    assert created.owner == ""
    assert created.retention_policy is RetentionPolicy.VERSIONS
    assert created.retention_limit == 1
    assert created.data is None
    assert await json_type(session, Artifact.data, created.id) is None
    assert created.execution_id is None
    assert created.created == created.updated


async def test_find_get_update_delete_missing(session: AsyncSession) -> None:
    assert await artifact.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"artifact {2**62} not found"):
        await artifact.repository.get(session, id=2**62)
    with pytest.raises(errors.NotFound):
        await artifact.repository.update(session, id=2**62, changes={"owner": "x"})
    assert await artifact.repository.delete(session, id=2**62) is False


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_artifact(session)
    assert await artifact.repository.delete(session, id=created.id) is True
    assert await artifact.repository.find(session, id=created.id) is None
    assert await artifact.repository.delete(session, id=created.id) is False


async def test_update_advances_updated(session: AsyncSession) -> None:
    created = await make_artifact(session, artifact_type=ArtifactType.PROGRESS, data={"pct": 0})
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await artifact.repository.update(
        session, id=created.id, changes={"data": {"pct": 100}, "retention_limit": 5}
    )
    assert updated.data == {"pct": 100}
    assert updated.retention_limit == 5
    assert updated.artifact_type is ArtifactType.PROGRESS
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_duplicate_refs_are_versions_of_one_artifact(session: AsyncSession) -> None:
    ref = unique("versioned")
    versions = [await make_artifact(session, ref=ref, data={"v": n}) for n in range(3)]
    assert len(set(ids(versions))) == 3
    listed = await artifact.repository.list(session, ref=ref)
    assert ids(listed) == newest_first(versions)
    assert listed[0].data == {"v": 2}


@pytest.mark.parametrize("artifact_type", list(ArtifactType))
async def test_every_type_is_stored(session: AsyncSession, artifact_type: ArtifactType) -> None:
    created = await make_artifact(session, artifact_type=artifact_type)
    read = await artifact.repository.get(session, id=created.id)
    assert read.artifact_type is artifact_type
    listed = await artifact.list_by_type(session, artifact_type=artifact_type, limit=1000)
    assert created.id in ids(listed)


@pytest.mark.parametrize("scope", list(OwnerType))
async def test_every_scope_is_stored(session: AsyncSession, scope: OwnerType) -> None:
    created = await make_artifact(session, scope=scope)
    read = await artifact.repository.get(session, id=created.id)
    assert read.scope is scope
    assert created.id in ids(await artifact.list_by_scope(session, scope=scope, limit=1000))


@pytest.mark.parametrize("policy", list(RetentionPolicy))
async def test_every_retention_policy_is_stored(
    session: AsyncSession, policy: RetentionPolicy
) -> None:
    created = await make_artifact(session, retention_policy=policy)
    read = await artifact.repository.get(session, id=created.id)
    assert read.retention_policy is policy
    listed = await artifact.list_by_retention_policy(session, retention_policy=policy, limit=1000)
    assert created.id in ids(listed)


@pytest.mark.parametrize(
    ("field", "value", "enum_type"),
    [
        ("artifact_type", "pdf", "artifact_type"),
        ("scope", "team", "owner_type"),
        ("retention_policy", "forever", "retention_policy"),
    ],
)
async def test_unknown_enum_value_is_a_validation_error(
    session: AsyncSession, field: str, value: str, enum_type: str
) -> None:
    with pytest.raises(errors.ValidationError, match=enum_type) as raised:
        await make_artifact(session, **{field: value})
    assert raised.value.details["sqlstate"] == "22P02"


@pytest.mark.parametrize("limit", [-(2**31), -1, 0, 1, 2**31 - 1])
async def test_retention_limit_takes_any_integer(session: AsyncSession, limit: int) -> None:
    created = await make_artifact(session, retention_limit=limit)
    assert (await artifact.repository.get(session, id=created.id)).retention_limit == limit


@pytest.mark.parametrize("limit", [2**31, -(2**31) - 1])
async def test_retention_limit_beyond_integer_is_a_validation_error(
    session: AsyncSession, limit: int
) -> None:
    with pytest.raises(errors.ValidationError, match="retention_limit must be between") as raised:
        await make_artifact(session, retention_limit=limit)
    assert raised.value.details == {"field": "retention_limit"}


async def test_list_by_scope_is_newest_first_and_filters(session: AsyncSession) -> None:
    ours = [await make_artifact(session, scope=OwnerType.SENSOR) for _ in range(3)]
    other = await make_artifact(session, scope=OwnerType.PACK)
    mine = set(ids(ours))
    listed = await artifact.list_by_scope(session, scope=OwnerType.SENSOR, limit=1000)
    assert all(found.scope is OwnerType.SENSOR for found in listed)
    assert ids(listed) == sorted(ids(listed), reverse=True)
    assert [i for i in ids(listed) if i in mine] == newest_first(ours)
    assert other.id not in ids(listed)
    page = await artifact.list_by_scope(
        session, scope=OwnerType.SENSOR, limit=2, before_id=ours[2].id
    )
    assert ids(page) == [ours[1].id, ours[0].id]
    assert await artifact.list_by_scope(session, scope=OwnerType.SENSOR, before_id=1) == []
    with pytest.raises(errors.ValidationError, match="limit"):
        await artifact.list_by_scope(session, scope=OwnerType.SENSOR, limit=0)


async def test_list_by_owner_spans_scopes_and_pages_back(session: AsyncSession) -> None:
    owner = unique("owner")
    ours = [
        await make_artifact(session, scope=scope, owner=owner)
        for scope in (OwnerType.IDENTITY, OwnerType.PACK, OwnerType.IDENTITY, OwnerType.ACTION)
    ]
    await make_artifact(session, scope=OwnerType.IDENTITY, owner=unique("owner"))
    listed = await artifact.list_by_owner(session, owner=owner)
    assert ids(listed) == newest_first(ours)
    walked = await walk_back(
        lambda before: artifact.list_by_owner(session, owner=owner, limit=3, before_id=before)
    )
    assert walked == newest_first(ours)
    assert await artifact.list_by_owner(session, owner=unique("nobody")) == []


async def test_list_by_scope_and_owner_needs_both(session: AsyncSession) -> None:
    owner = unique("owner")
    wanted = [await make_artifact(session, scope=OwnerType.PACK, owner=owner) for _ in range(3)]
    other_scope = await make_artifact(session, scope=OwnerType.ACTION, owner=owner)
    other_owner = await make_artifact(session, scope=OwnerType.PACK, owner=unique("owner"))
    listed = await artifact.list_by_scope_and_owner(session, scope=OwnerType.PACK, owner=owner)
    assert ids(listed) == newest_first(wanted)
    assert other_scope.id not in ids(listed)
    assert other_owner.id not in ids(listed)
    walked = await walk_back(
        lambda before: artifact.list_by_scope_and_owner(
            session, scope=OwnerType.PACK, owner=owner, limit=2, before_id=before
        )
    )
    assert walked == newest_first(wanted)
    empty = await artifact.list_by_scope_and_owner(session, scope=OwnerType.SENSOR, owner=owner)
    assert empty == []


async def test_list_by_type_is_newest_first_and_filters(session: AsyncSession) -> None:
    ours = [await make_artifact(session, artifact_type=ArtifactType.FILE_IMAGE) for _ in range(3)]
    other = await make_artifact(session, artifact_type=ArtifactType.FILE_TEXT)
    mine = set(ids(ours))
    listed = await artifact.list_by_type(session, artifact_type=ArtifactType.FILE_IMAGE, limit=1000)
    assert all(found.artifact_type is ArtifactType.FILE_IMAGE for found in listed)
    assert ids(listed) == sorted(ids(listed), reverse=True)
    assert [i for i in ids(listed) if i in mine] == newest_first(ours)
    assert other.id not in ids(listed)
    page = await artifact.list_by_type(
        session, artifact_type=ArtifactType.FILE_IMAGE, limit=1, before_id=ours[2].id
    )
    assert ids(page) == [ours[1].id]
    assert (
        await artifact.list_by_type(session, artifact_type=ArtifactType.FILE_IMAGE, before_id=1)
        == []
    )


async def test_list_by_retention_policy_is_newest_first_and_filters(
    session: AsyncSession,
) -> None:
    ours = [
        await make_artifact(session, retention_policy=RetentionPolicy.MINUTES) for _ in range(3)
    ]
    other = await make_artifact(session, retention_policy=RetentionPolicy.HOURS)
    mine = set(ids(ours))
    listed = await artifact.list_by_retention_policy(
        session, retention_policy=RetentionPolicy.MINUTES, limit=1000
    )
    assert all(found.retention_policy is RetentionPolicy.MINUTES for found in listed)
    assert ids(listed) == sorted(ids(listed), reverse=True)
    assert [i for i in ids(listed) if i in mine] == newest_first(ours)
    assert other.id not in ids(listed)
    page = await artifact.list_by_retention_policy(
        session, retention_policy=RetentionPolicy.MINUTES, limit=5, before_id=ours[1].id
    )
    assert ours[0].id in ids(page)
    assert ours[1].id not in ids(page)
    assert ours[2].id not in ids(page)
    assert (
        await artifact.list_by_retention_policy(
            session, retention_policy=RetentionPolicy.MINUTES, before_id=1
        )
        == []
    )


async def test_deleting_the_execution_keeps_its_artifacts(session: AsyncSession) -> None:
    an_execution = await make_execution(session)
    created = await make_artifact(session, execution_id=an_execution.id)
    assert await execution.repository.delete(session, id=an_execution.id) is True
    kept = await artifact.repository.get(session, id=created.id)
    assert kept.execution_id is None
    assert kept.ref == created.ref


async def test_unknown_execution_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_artifact(session, execution_id=2**63 - 1)
    assert raised.value.details["constraint"] == "fk_artifact_execution_id_execution"


@pytest.mark.parametrize("missing", ["ref", "artifact_type"])
async def test_missing_required_field_names_it(session: AsyncSession, missing: str) -> None:
    values: dict[str, Any] = {"ref": unique("a"), "artifact_type": ArtifactType.OTHER}
    del values[missing]
    with pytest.raises(errors.ValidationError, match=f"{missing} is required") as raised:
        await artifact.repository.create(session, **values)
    assert raised.value.details == {"field": missing}


@pytest.mark.parametrize(
    ("data", "json_kind"),
    [
        ({}, "object"),
        ({"a": {"b": [1, {"c": None}]}, "ü": "🚀"}, "object"),
        ([{"row": 1}, {"row": 2}], "array"),
        ("https://example.com/report", "string"),
        (0.75, "number"),
        (False, "boolean"),
        (None, "null"),
    ],
)
async def test_data_json_round_trips(session: AsyncSession, data: Any, json_kind: str) -> None:
    created = await make_artifact(session, data=data)
    read = await artifact.repository.get(session, id=created.id)
    assert read.data == data
    assert type(read.data) is type(data)
    assert await json_type(session, Artifact.data, created.id) == json_kind


async def test_data_sql_null(session: AsyncSession) -> None:
    created = await make_artifact(session, data=null())
    assert await json_type(session, Artifact.data, created.id) is None
    assert (await artifact.repository.get(session, id=created.id)).data is None


async def test_very_long_and_special_strings_round_trip(session: AsyncSession) -> None:
    special = "Ünïcödé 🚀 'quotes' \"double\" \\ back; DROP TABLE artifact; --"
    long_ref = unique("long") + "/" + "r" * 50_000
    created = await make_artifact(session, ref=long_ref, owner=special)
    read = await artifact.repository.get(session, id=created.id)
    assert read.ref == long_ref
    assert read.owner == special
    assert ids(await artifact.list_by_owner(session, owner=special)) == [created.id]
