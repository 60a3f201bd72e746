"""Answering the load's inquiries through the API, as a person would.

Half of them (even sequence numbers) are answered as soon as they are pending; the others
wait until the fault is over, so that some answers come before it and some cross it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from chaos.delivery import deliver, new_key
from chaos.load import Kind, Load

POLL_SECONDS = 1.0
ANSWER_DEADLINE_SECONDS = 30.0


class Answerer:
    def __init__(self, client: httpx.AsyncClient, load: Load) -> None:
        self._client = client
        self._load = load
        self._keys: dict[int, str] = {}
        self.answered: set[int] = set()
        self.answer_all = asyncio.Event()
        """Set once the system has recovered: then the held-back inquiries are answered too."""

    async def run(self) -> None:
        """Answer until cancelled."""
        while True:
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, TypeError):
                await self._answer_pending()
            await asyncio.sleep(POLL_SECONDS)

    async def _answer_pending(self) -> None:
        asks = {ack.execution_id: ack.seq for ack in self._load.by_kind(Kind.ASK)}
        if not asks:
            return
        listed = await self._client.get(
            "/inquiries", params={"status": "pending", "limit": 100}, timeout=10.0
        )
        if listed.status_code != 200:
            return
        for item in listed.json()["items"]:
            inquiry_id = int(item["id"])
            seq = asks.get(int(item["execution_id"]))
            if seq is None or inquiry_id in self.answered:
                continue
            if seq % 2 and not self.answer_all.is_set():
                continue
            key = self._keys.setdefault(inquiry_id, new_key(f"inquiry-{inquiry_id}"))
            answer = await deliver(
                self._client,
                f"/inquiries/{inquiry_id}/respond",
                {"response": {"ok": True, "seq": seq}},
                key=key,
                deadline=time.monotonic() + ANSWER_DEADLINE_SECONDS,
            )
            # 409: it was answered already (by an earlier attempt of ours whose reply was lost).
            if answer.acknowledged or (
                answer.response is not None and answer.response.status_code == 409
            ):
                self.answered.add(inquiry_id)
