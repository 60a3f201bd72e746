"""Notification repository against the real PostgreSQL: entity changes queued for delivery."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import null
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Notification, NotificationState
from db.repositories import notification
from tests.db.factories import json_type, unique
from tests.db.factories_history import (
    ids,
    make_notification,
    newest_first,
    walk_back,
)


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    channel = unique("chan")
    content = {"status": "running", "changes": {"status": ["requested", "running"]}}
    created = await notification.repository.create(
        session,
        channel=channel,
        entity_type="execution",
        entity_id="42",
        activity="status_changed",
        state=NotificationState.QUEUED,
        content=content,
    )
    read = await notification.repository.get(session, id=created.id)
    assert read.channel == channel
    assert read.entity_type == "execution"
    assert read.entity_id == "42"
    assert read.activity == "status_changed"
    assert read.state is NotificationState.QUEUED
    assert read.content == content


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await notification.repository.create(
        session, channel="c", entity_type="pack", entity_id="core", activity="created"
    )
    assert created.id > 0
    assert created.state is NotificationState.CREATED
    assert created.content is None
    assert await json_type(session, Notification.content, created.id) is None
    assert created.created == created.updated


async def test_find_get_update_delete_missing(session: AsyncSession) -> None:
    assert await notification.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"notification {2**62} not found"):
        await notification.repository.get(session, id=2**62)
    with pytest.raises(errors.NotFound):
        await notification.repository.update(session, id=2**62, changes={"activity": "x"})
    assert await notification.repository.delete(session, id=2**62) is False


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_notification(session)
    assert await notification.repository.delete(session, id=created.id) is True
    assert await notification.repository.find(session, id=created.id) is None
    assert await notification.repository.delete(session, id=created.id) is False


async def test_state_change_advances_updated(session: AsyncSession) -> None:
    created = await make_notification(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await notification.repository.update(
        session, id=created.id, changes={"state": NotificationState.PROCESSING}
    )
    assert updated.state is NotificationState.PROCESSING
    assert updated.channel == created.channel
    assert updated.updated > first_updated
    assert updated.created == first_created


@pytest.mark.parametrize("state", list(NotificationState))
async def test_every_state_is_stored(session: AsyncSession, state: NotificationState) -> None:
    created = await make_notification(session, state=state)
    read = await notification.repository.get(session, id=created.id)
    assert read.state is state
    assert created.id in ids(await notification.list_by_state(session, state=state, limit=1000))


async def test_unknown_state_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="notification_state") as raised:
        await make_notification(session, state="delivered")
    assert raised.value.details["sqlstate"] == "22P02"


async def test_list_by_state_is_newest_first_and_filters(session: AsyncSession) -> None:
    errored = [await make_notification(session, state=NotificationState.ERROR) for _ in range(4)]
    queued = await make_notification(session, state=NotificationState.QUEUED)
    mine = set(ids(errored))
    listed = await notification.list_by_state(session, state=NotificationState.ERROR, limit=1000)
    assert all(found.state is NotificationState.ERROR for found in listed)
    assert ids(listed) == sorted(ids(listed), reverse=True)
    assert [i for i in ids(listed) if i in mine] == newest_first(errored)
    assert queued.id not in ids(listed)
    page = await notification.list_by_state(
        session, state=NotificationState.ERROR, limit=2, before_id=errored[3].id
    )
    assert ids(page) == [errored[2].id, errored[1].id]
    assert (
        await notification.list_by_state(session, state=NotificationState.ERROR, before_id=1) == []
    )
    with pytest.raises(errors.ValidationError, match="limit"):
        await notification.list_by_state(session, state=NotificationState.ERROR, limit=0)


@pytest.mark.parametrize("limit", [1, 2, 5, 6])
async def test_history_list_pages_back_without_gaps_or_repeats(
    session: AsyncSession, limit: int
) -> None:
    channel = unique("chan")
    await make_notification(session)
    ours = [await make_notification(session, channel=channel) for _ in range(5)]
    walked = await walk_back(
        lambda before: notification.repository.list(
            session, channel=channel, limit=limit, before_id=before
        )
    )
    assert walked == newest_first(ours)
    assert await notification.repository.list(session, channel=unique("none")) == []


@pytest.mark.parametrize("missing", ["channel", "entity_type", "entity_id", "activity"])
async def test_missing_required_field_names_it(session: AsyncSession, missing: str) -> None:
    values = {"channel": "c", "entity_type": "t", "entity_id": "1", "activity": "a"}
    del values[missing]
    with pytest.raises(errors.ValidationError, match=f"{missing} is required") as raised:
        await notification.repository.create(session, **values)
    assert raised.value.details == {"field": missing}


@pytest.mark.parametrize(
    ("content", "json_kind"),
    [
        ({}, "object"),
        ({"a": {"b": {"c": [1, None, "ü", {"d": True}]}}}, "object"),
        (None, "null"),
    ],
)
async def test_content_json_round_trips(
    session: AsyncSession, content: dict[str, object] | None, json_kind: str
) -> None:
    created = await make_notification(session, content=content)
    read = await notification.repository.get(session, id=created.id)
    assert read.content == content
    assert await json_type(session, Notification.content, created.id) == json_kind


async def test_content_sql_null(session: AsyncSession) -> None:
    created = await make_notification(session, content=null())
    assert await json_type(session, Notification.content, created.id) is None
    assert (await notification.repository.get(session, id=created.id)).content is None


async def test_very_long_and_special_strings_round_trip(session: AsyncSession) -> None:
    special = "Ünïcödé 🚀 'quotes' \"double\" \\ back; DROP TABLE notification; --"
    long_channel = unique("chan") + "x" * 50_000
    created = await make_notification(
        session, channel=long_channel, entity_type=special, entity_id="", activity="\t\n"
    )
    read = await notification.repository.get(session, id=created.id)
    assert read.channel == long_channel
    assert read.entity_type == special
    assert read.entity_id == ""
    assert read.activity == "\t\n"
    assert ids(await notification.repository.list(session, channel=long_channel)) == [created.id]
