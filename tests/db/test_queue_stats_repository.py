"""Queue statistics repository against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import QueueStats
from db.repositories import action, queue_stats
from tests.db.factories import make_action

INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    an_action = await make_action(session)
    oldest = datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    created = await queue_stats.repository.create(
        session,
        action_id=an_action.id,
        queue_length=3,
        active_count=2,
        max_concurrent=5,
        oldest_enqueued_at=oldest,
        total_enqueued=100,
        total_completed=95,
    )
    read = await queue_stats.repository.get(session, id=created.id)
    assert read.action_id == an_action.id
    assert read.queue_length == 3
    assert read.active_count == 2
    assert read.max_concurrent == 5
    assert read.oldest_enqueued_at == oldest
    assert read.total_enqueued == 100
    assert read.total_completed == 95


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    an_action = await make_action(session)
    created = await queue_stats.repository.create(session, action_id=an_action.id)
    assert created.id > 0
    assert created.queue_length == 0
    assert created.active_count == 0
    assert created.max_concurrent == 0
    assert created.oldest_enqueued_at is None
    assert created.total_enqueued == 0
    assert created.total_completed == 0
    assert created.created == created.updated


async def test_find_and_get_missing(session: AsyncSession) -> None:
    assert await queue_stats.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"queue statistics {2**62} not found"):
        await queue_stats.repository.get(session, id=2**62)


async def test_find_by_action(session: AsyncSession) -> None:
    an_action = await make_action(session)
    other_action = await make_action(session)
    created = await queue_stats.repository.create(session, action_id=an_action.id)
    await queue_stats.repository.create(session, action_id=other_action.id)
    found = await queue_stats.find_by_action(session, action_id=an_action.id)
    assert found is not None
    assert found.id == created.id


async def test_find_by_action_without_stats_is_none(session: AsyncSession) -> None:
    an_action = await make_action(session)
    assert await queue_stats.find_by_action(session, action_id=an_action.id) is None
    assert await queue_stats.find_by_action(session, action_id=2**62) is None


async def test_get_or_create_inserts_zero_counts(session: AsyncSession) -> None:
    an_action = await make_action(session)
    stats = await queue_stats.get_or_create(session, action_id=an_action.id)
    assert stats.action_id == an_action.id
    assert (stats.queue_length, stats.active_count, stats.max_concurrent) == (0, 0, 0)
    assert (stats.total_enqueued, stats.total_completed) == (0, 0)
    assert stats.oldest_enqueued_at is None
    assert stats.created == stats.updated
    found = await queue_stats.find_by_action(session, action_id=an_action.id)
    assert found is not None
    assert found.id == stats.id


async def test_get_or_create_is_idempotent(session: AsyncSession) -> None:
    an_action = await make_action(session)
    first = await queue_stats.get_or_create(session, action_id=an_action.id)
    second = await queue_stats.get_or_create(session, action_id=an_action.id)
    third = await queue_stats.get_or_create(session, action_id=an_action.id)
    assert first.id == second.id == third.id
    rows = await session.scalar(
        select(func.count()).select_from(QueueStats).where(QueueStats.action_id == an_action.id)
    )
    assert rows == 1


async def test_get_or_create_returns_existing_stats_unchanged(session: AsyncSession) -> None:
    an_action = await make_action(session)
    existing = await queue_stats.repository.create(
        session, action_id=an_action.id, queue_length=7, total_enqueued=BIGINT_MAX
    )
    got = await queue_stats.get_or_create(session, action_id=an_action.id)
    assert got.id == existing.id
    assert got.queue_length == 7
    assert got.total_enqueued == BIGINT_MAX


async def test_get_or_create_sees_the_latest_counts(session: AsyncSession) -> None:
    an_action = await make_action(session)
    stats = await queue_stats.get_or_create(session, action_id=an_action.id)
    await queue_stats.repository.update(session, id=stats.id, changes={"active_count": 4})
    again = await queue_stats.get_or_create(session, action_id=an_action.id)
    assert again.active_count == 4


async def test_get_or_create_for_a_missing_action_is_a_validation_error(
    session: AsyncSession,
) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await queue_stats.get_or_create(session, action_id=2**62)
    assert raised.value.details["constraint"] == "fk_queue_stats_action_id_action"


async def test_second_row_for_an_action_is_a_conflict(session: AsyncSession) -> None:
    an_action = await make_action(session)
    await queue_stats.get_or_create(session, action_id=an_action.id)
    with pytest.raises(errors.Conflict) as raised:
        await queue_stats.repository.create(session, action_id=an_action.id)
    assert raised.value.details["constraint"] == "uq_queue_stats_action_id"
    assert str(an_action.id) in raised.value.message


async def test_unknown_action_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await queue_stats.repository.create(session, action_id=2**62)
    assert raised.value.details["constraint"] == "fk_queue_stats_action_id_action"


async def test_missing_action_names_it(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="action_id is required"):
        await queue_stats.repository.create(session, queue_length=1)


@pytest.mark.parametrize("column", ["queue_length", "active_count", "max_concurrent"])
async def test_negative_count_is_a_validation_error(session: AsyncSession, column: str) -> None:
    an_action = await make_action(session)
    with pytest.raises(errors.ValidationError) as raised:
        await queue_stats.repository.create(session, action_id=an_action.id, **{column: -1})
    assert raised.value.details["constraint"] == f"ck_queue_stats_{column}_nonnegative"
    assert "must not be negative" in raised.value.message


@pytest.mark.parametrize("column", ["queue_length", "active_count", "max_concurrent"])
async def test_update_to_a_negative_count_is_a_validation_error(
    session: AsyncSession, column: str
) -> None:
    an_action = await make_action(session)
    stats = await queue_stats.get_or_create(session, action_id=an_action.id)
    with pytest.raises(errors.ValidationError) as raised:
        await queue_stats.repository.update(session, id=stats.id, changes={column: -1})
    assert raised.value.details["constraint"] == f"ck_queue_stats_{column}_nonnegative"


@pytest.mark.parametrize("column", ["queue_length", "active_count", "max_concurrent"])
async def test_integer_counts_take_their_maximum(session: AsyncSession, column: str) -> None:
    an_action = await make_action(session)
    created = await queue_stats.repository.create(
        session, action_id=an_action.id, **{column: INT_MAX}
    )
    read = await queue_stats.repository.get(session, id=created.id)
    assert getattr(read, column) == INT_MAX


@pytest.mark.parametrize("column", ["queue_length", "active_count", "max_concurrent"])
async def test_integer_count_overflow_is_a_validation_error(
    session: AsyncSession, column: str
) -> None:
    an_action = await make_action(session)
    with pytest.raises(errors.ValidationError, match=column) as raised:
        await queue_stats.repository.create(
            session, action_id=an_action.id, **{column: INT_MAX + 1}
        )
    assert str(INT_MAX) in raised.value.message
    assert raised.value.details["field"] == column


@pytest.mark.parametrize("column", ["total_enqueued", "total_completed"])
async def test_bigint_totals_take_their_maximum(session: AsyncSession, column: str) -> None:
    an_action = await make_action(session)
    created = await queue_stats.repository.create(
        session, action_id=an_action.id, **{column: BIGINT_MAX}
    )
    read = await queue_stats.repository.get(session, id=created.id)
    assert getattr(read, column) == BIGINT_MAX


@pytest.mark.parametrize("column", ["total_enqueued", "total_completed"])
async def test_bigint_total_overflow_is_a_validation_error(
    session: AsyncSession, column: str
) -> None:
    an_action = await make_action(session)
    with pytest.raises(errors.ValidationError, match=column) as raised:
        await queue_stats.repository.create(
            session, action_id=an_action.id, **{column: BIGINT_MAX + 1}
        )
    assert str(BIGINT_MAX) in raised.value.message
    assert raised.value.details["field"] == column


async def test_partial_update_changes_only_given_fields(session: AsyncSession) -> None:
    an_action = await make_action(session)
    stats = await queue_stats.repository.create(
        session, action_id=an_action.id, queue_length=2, max_concurrent=3
    )
    oldest = datetime(2030, 5, 5, tzinfo=UTC)
    updated = await queue_stats.repository.update(
        session, id=stats.id, changes={"queue_length": 0, "oldest_enqueued_at": oldest}
    )
    assert updated.queue_length == 0
    assert updated.oldest_enqueued_at == oldest
    assert updated.max_concurrent == 3
    cleared = await queue_stats.repository.update(
        session, id=stats.id, changes={"oldest_enqueued_at": None}
    )
    assert cleared.oldest_enqueued_at is None


async def test_update_missing_raises_not_found(session: AsyncSession) -> None:
    with pytest.raises(errors.NotFound):
        await queue_stats.repository.update(session, id=2**62, changes={"queue_length": 1})


async def test_updated_advances_and_created_stays(session: AsyncSession) -> None:
    an_action = await make_action(session)
    stats = await queue_stats.get_or_create(session, action_id=an_action.id)
    first_created, first_updated = stats.created, stats.updated
    assert first_created == first_updated
    await asyncio.sleep(0.01)
    updated = await queue_stats.repository.update(
        session, id=stats.id, changes={"total_enqueued": 1}
    )
    assert updated.updated > first_updated
    assert updated.created == first_created


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    an_action = await make_action(session)
    stats = await queue_stats.get_or_create(session, action_id=an_action.id)
    assert await queue_stats.repository.delete(session, id=stats.id) is True
    assert await queue_stats.repository.find(session, id=stats.id) is None
    assert await queue_stats.find_by_action(session, action_id=an_action.id) is None
    assert await queue_stats.repository.delete(session, id=stats.id) is False


async def test_deleting_the_action_deletes_its_stats(session: AsyncSession) -> None:
    an_action = await make_action(session)
    other_action = await make_action(session)
    gone = await queue_stats.get_or_create(session, action_id=an_action.id)
    kept = await queue_stats.get_or_create(session, action_id=other_action.id)
    await action.repository.delete(session, id=an_action.id)
    assert await queue_stats.repository.find(session, id=gone.id) is None
    assert await queue_stats.find_by_action(session, action_id=an_action.id) is None
    assert await queue_stats.repository.find(session, id=kept.id) is not None


async def test_list_is_ordered_by_action(session: AsyncSession) -> None:
    actions = [await make_action(session) for _ in range(3)]
    for an_action in reversed(actions):
        await queue_stats.get_or_create(session, action_id=an_action.id)
    ours = {a.id for a in actions}
    listed = await queue_stats.repository.list(session, limit=1000)
    action_ids = [s.action_id for s in listed]
    assert action_ids == sorted(action_ids)
    assert [i for i in action_ids if i in ours] == [a.id for a in actions]
