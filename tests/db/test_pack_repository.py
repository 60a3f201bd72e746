"""Pack repository against the real PostgreSQL; also the suite for the shared base operations."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.repositories import action, pack, rule, trigger
from tests.db.factories import make_action, make_pack, make_rule, make_trigger, unique


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    ref = unique("full")
    created = await pack.repository.create(
        session,
        ref=ref,
        label="Full pack",
        description="All the fields",
        version="2.10.3-rc.1+build.7",
        author="Ops <ops@example.com>",
        config_schema={"type": "object", "properties": {"url": {"type": "string"}}},
        config={"url": "https://example.com", "nested": {"list": [1, 2, {"deep": None}]}},
        tags=["infra", "deploy"],
    )
    read = await pack.repository.get(session, id=created.id)
    assert read.ref == ref
    assert read.description == "All the fields"
    assert read.version == "2.10.3-rc.1+build.7"
    assert read.author == "Ops <ops@example.com>"
    assert read.config == {"url": "https://example.com", "nested": {"list": [1, 2, {"deep": None}]}}
    assert read.config_schema["properties"]["url"] == {"type": "string"}
    assert read.tags == ["infra", "deploy"]


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await make_pack(session)
    assert created.id > 0
    assert created.description is None
    assert created.author is None
    assert created.config == {}
    assert created.config_schema == {}
    assert created.tags == []
    assert created.created == created.updated


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await pack.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"pack {2**62} not found"):
        await pack.repository.get(session, id=2**62)
    missing = unique("missing")
    assert await pack.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound, match=missing):
        await pack.repository.get_by_key(session, missing)


async def test_find_by_ref(session: AsyncSession) -> None:
    created = await make_pack(session)
    found = await pack.repository.find_by_key(session, created.ref)
    assert found is not None
    assert found.id == created.id


async def test_list_is_ordered_by_ref_and_pages(session: AsyncSession) -> None:
    stem = unique("order")
    for suffix in ("c", "a", "b"):
        await make_pack(session, ref=f"{stem}-{suffix}")
    listed = await pack.repository.list(session, limit=1000)
    ours = [p.ref for p in listed if p.ref.startswith(stem)]
    assert ours == [f"{stem}-a", f"{stem}-b", f"{stem}-c"]
    refs = [p.ref for p in listed]
    assert refs == sorted(refs)

    first_page = await pack.repository.list(session, limit=2)
    second_page = await pack.repository.list(session, limit=2, offset=2)
    assert [p.ref for p in first_page + second_page] == refs[:4]


async def test_list_filters_by_column(session: AsyncSession) -> None:
    author = unique("author")
    wanted = await make_pack(session, author=author)
    await make_pack(session, author=unique("someone-else"))
    assert [p.id for p in await pack.repository.list(session, author=author)] == [wanted.id]
    assert await pack.repository.list(session, author=unique("nobody")) == []


@pytest.mark.parametrize("limit", [0, -1, 1001])
async def test_list_refuses_unbounded_limits(session: AsyncSession, limit: int) -> None:
    with pytest.raises(errors.ValidationError, match="limit"):
        await pack.repository.list(session, limit=limit)


async def test_partial_update_changes_only_given_fields(session: AsyncSession) -> None:
    created = await make_pack(session, description="before", author="me")
    updated = await pack.repository.update(
        session, id=created.id, changes={"description": None, "version": "1.1.0"}
    )
    assert updated.description is None
    assert updated.version == "1.1.0"
    assert updated.author == "me"
    assert updated.label == "Test pack"


async def test_empty_update_returns_record_unchanged(session: AsyncSession) -> None:
    created = await make_pack(session)
    before = created.updated
    unchanged = await pack.repository.update(session, id=created.id, changes={})
    assert unchanged.id == created.id
    assert unchanged.updated == before


async def test_update_missing_raises_not_found(session: AsyncSession) -> None:
    with pytest.raises(errors.NotFound):
        await pack.repository.update(session, id=2**62, changes={"label": "x"})


async def test_unknown_or_read_only_fields_are_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="colour"):
        await make_pack(session, colour="blue")
    created = await make_pack(session)
    with pytest.raises(errors.ValidationError, match="created"):
        await pack.repository.update(session, id=created.id, changes={"created": None})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    created = await make_pack(session)
    first_created, first_updated = created.created, created.updated
    assert first_created == first_updated
    await asyncio.sleep(0.01)
    updated = await pack.repository.update(session, id=created.id, changes={"label": "New"})
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_pack(session)
    assert await pack.repository.delete(session, id=created.id) is True
    assert await pack.repository.find(session, id=created.id) is None
    assert await pack.repository.delete(session, id=created.id) is False


async def test_deleting_a_pack_deletes_its_content_and_rules_keep_refs(
    session: AsyncSession,
) -> None:
    owner = await make_pack(session)
    an_action = await make_action(session, owner)
    a_trigger = await make_trigger(session, owner)
    # A rule in another pack points at this pack's trigger and action.
    other_rule = await make_rule(session, on=await make_trigger(session), runs=an_action)
    await pack.repository.delete(session, id=owner.id)
    assert await action.repository.find(session, id=an_action.id) is None
    assert await trigger.repository.find(session, id=a_trigger.id) is None
    kept = await rule.repository.get(session, id=other_rule.id)
    assert kept.action_id is None
    assert kept.action_ref == an_action.ref


async def test_duplicate_ref_is_a_conflict_naming_the_ref(session: AsyncSession) -> None:
    created = await make_pack(session)
    with pytest.raises(errors.Conflict) as raised:
        await make_pack(session, ref=created.ref)
    assert created.ref in raised.value.message
    assert raised.value.details["constraint"] == "uq_pack_ref"


@pytest.mark.parametrize("ref", ["Upper", "with.dot", "", "spaces here", "ünïcode"])
async def test_malformed_ref_is_a_validation_error(session: AsyncSession, ref: str) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await make_pack(session, ref=ref)
    assert raised.value.details["constraint"] == "ck_pack_ref_format"
    assert "lowercase" in raised.value.message


@pytest.mark.parametrize("version", ["1", "1.0", "01.0.0", "1.0.0.0", "v1.0.0", "latest"])
async def test_bad_semver_is_a_validation_error(session: AsyncSession, version: str) -> None:
    with pytest.raises(errors.ValidationError, match="semantic") as raised:
        await make_pack(session, version=version)
    assert raised.value.details["constraint"] == "ck_pack_version_semver"


async def test_missing_required_field_names_it(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="version is required"):
        await pack.repository.create(session, ref=unique("nover"), label="x")


async def test_very_long_ref_and_special_characters_round_trip(session: AsyncSession) -> None:
    long_ref = unique("long") + "-" * 1000 + "_x"
    label = "Ünïcödé 🚀 'quotes' \"double\" \\ backslash; DROP TABLE pack; --"
    created = await make_pack(session, ref=long_ref, label=label, tags=["a,b", "{}", "NULL"])
    read = await pack.repository.get(session, id=created.id)
    assert read.ref == long_ref
    assert read.label == label
    assert read.tags == ["a,b", "{}", "NULL"]


async def test_unknown_filter_or_stamp_column_is_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="pack has no field colour"):
        await pack.repository.list(session, colour="blue")
    created = await make_pack(session)
    with pytest.raises(errors.ValidationError, match="pack has no field touched_at"):
        await pack.repository.stamp_now(session, id=created.id, column="touched_at")
