"""The stream hub's keeping and fanning out, without a database: what a reconnecting
client gets, and what happens to one that does not keep up."""

from __future__ import annotations

import asyncio
import json

from attune.stream_hub import QUEUE_LIMIT, StreamEvent, StreamHub

NOWHERE = "postgresql+asyncpg://nobody@127.0.0.1:1/none"


def told(hub: StreamHub, *ids: int) -> None:
    for id in ids:
        hub.publish(json.dumps({"id": id, "kind": "execution", "entity_id": id}))


def drained(queue: asyncio.Queue[StreamEvent | None]) -> list[StreamEvent | None]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def ids(queue: asyncio.Queue[StreamEvent | None]) -> list[int]:
    return [event["id"] for event in drained(queue) if event is not None]


def test_a_client_resumes_after_its_last_id_in_arrival_order_or_hears_it_was_lost() -> None:
    hub = StreamHub(NOWHERE, window=3)
    told(hub, 7, 5, 6, 8)  # ids are taken before commit: arrival order is what counts

    resumed = hub.subscribe(after=5)
    forgotten = hub.subscribe(after=7)  # fell out of the window of 3
    fresh = hub.subscribe(after=None)
    told(hub, 9)

    assert ids(resumed.queue) == [6, 8, 9]
    assert resumed.lost is False
    assert forgotten.lost is True
    assert ids(fresh.queue) == [9]


def test_a_client_that_falls_too_far_behind_is_ended_and_others_go_on() -> None:
    hub = StreamHub(NOWHERE)
    slow, quick = hub.subscribe(after=None), hub.subscribe(after=None)
    for id in range(QUEUE_LIMIT + 1):
        told(hub, id)
        drained(quick.queue)

    assert drained(slow.queue)[-1] is None  # its end mark, after what it had
    assert slow not in hub.subscriptions
    assert quick in hub.subscriptions


def test_a_notification_that_is_not_json_is_skipped() -> None:
    hub = StreamHub(NOWHERE)
    listening = hub.subscribe(after=None)

    hub.publish("not json")
    told(hub, 1)

    assert ids(listening.queue) == [1]
