"""What happens, for the event stream: one LISTEN per API process, fanned out to its
streaming clients, with the last events kept for a client that reconnects.

The database tells (migration 0015: triggers on execution, event, enforcement and
inquiry NOTIFY `attune_stream` as their transactions commit), so every API process hears
every change whichever process or worker made it, in commit order. Each process keeps
the last `WINDOW` events in that order: a client reconnecting with `Last-Event-ID` gets
those after it, and one whose id is no longer there is told so (`lost`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from attune.pg_listen import Listener

CHANNEL = "attune_stream"
WINDOW = 10_000
# A client this far behind is cut off (it reconnects and resumes from the window).
QUEUE_LIMIT = 1_000
logger = logging.getLogger(__name__)

StreamEvent = dict[str, Any]


@dataclass(eq=False)  # each one its own: kept in a set by identity
class Subscription:
    """One client's events: the backlog it asked for, then each new one."""

    # Unbounded, so a backlog of the whole window fits; `publish` ends a client that lags.
    queue: asyncio.Queue[StreamEvent | None] = field(default_factory=asyncio.Queue)
    lost: bool = False  # what it resumed after is gone from the window


class StreamHub:
    """`start` ... `stop` for the life of an API process."""

    def __init__(self, database_url: str, *, window: int = WINDOW) -> None:
        self.recent: deque[StreamEvent] = deque(maxlen=window)
        self.subscriptions: set[Subscription] = set()
        # Set while the LISTEN is up: a client subscribing meanwhile misses nothing.
        self.listening = asyncio.Event()
        self._listener = Listener(
            database_url,
            CHANNEL,
            self.publish,
            on_listening=self.listening.set,
            on_lost=self.listening.clear,
        )

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()
        for subscription in list(self.subscriptions):
            self._end(subscription)

    def subscribe(self, after: int | None) -> Subscription:
        """A new client's subscription: the kept events after the one with id `after`
        (none when `after` is None), then each new one."""
        subscription = Subscription()
        if after is not None:
            backlog = self._after(after)
            subscription.lost = backlog is None
            for event in backlog or []:
                subscription.queue.put_nowait(event)
        self.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)

    def publish(self, payload: str) -> None:
        """One NOTIFY's event, to every subscription; a full one is ended."""
        try:
            event: StreamEvent = json.loads(payload)
        except json.JSONDecodeError:
            logger.warning("the stream channel carried something not JSON: %.80r", payload)
            return
        self.recent.append(event)
        for subscription in list(self.subscriptions):
            if subscription.queue.qsize() >= QUEUE_LIMIT:
                logger.warning("a stream client fell %d events behind; ending it", QUEUE_LIMIT)
                self._end(subscription)
            else:
                subscription.queue.put_nowait(event)

    def _after(self, after: int) -> list[StreamEvent] | None:
        """The kept events after the one with id `after`, or None when it is not kept."""
        kept = list(self.recent)
        for position, event in enumerate(kept):
            if event.get("id") == after:
                return kept[position + 1 :]
        return None

    def _end(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)
        subscription.queue.put_nowait(None)  # after what it has: the client then stops
