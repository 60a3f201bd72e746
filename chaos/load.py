"""The load a scenario puts in flight: plain runs, FIFO-limited runs and a few inquiries.

Every request is a `POST /executions` with an Idempotency-Key of its own, retried until it
is acknowledged (`chaos.delivery`). Its parameters carry its sequence number, so an
execution created twice for one request can be told from one run twice.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from chaos.delivery import deliver, new_key
from chaos.pack import ASK, FIFO, WORK

SUBMITTERS = 8
INQUIRY_TTL_SECONDS = 900
SHORTEST_SLEEP, LONGEST_SLEEP = 0.5, 3.0


class Kind(StrEnum):
    WORK = "work"
    FIFO = "fifo"
    ASK = "ask"


ACTIONS = {Kind.WORK: WORK, Kind.FIFO: FIFO, Kind.ASK: ASK}


@dataclass(frozen=True)
class Request:
    seq: int
    kind: Kind
    body: dict[str, Any]


@dataclass(frozen=True)
class Acknowledged:
    seq: int
    kind: Kind
    execution_id: int


def prompt_of(seq: int) -> str:
    return f"chaos request {seq}"


def plan(total: int, ledger: Path, *, seed: int = 16) -> list[Request]:
    """`total` requests: 2.5% inquiries (sent first), 10% FIFO-limited, the rest plain."""
    rng = random.Random(seed)
    asks = max(2, total // 40)
    fifo = max(4, total // 10)
    kinds = [Kind.FIFO] * fifo + [Kind.WORK] * max(0, total - asks - fifo)
    rng.shuffle(kinds)
    # Inquiries go first, so that every one of them is waiting when the fault strikes.
    kinds = [Kind.ASK] * asks + kinds
    requests = []
    for seq, kind in enumerate(kinds, start=1):
        if kind is Kind.ASK:
            parameters: dict[str, Any] = {
                "prompt": prompt_of(seq),
                "schema": {"type": "object", "required": ["ok"]},
                "ttl": INQUIRY_TTL_SECONDS,
            }
        else:
            seconds = round(rng.uniform(SHORTEST_SLEEP, LONGEST_SLEEP), 2)
            parameters = {"seq": seq, "seconds": seconds, "ledger": str(ledger)}
        requests.append(Request(seq, kind, {"action": ACTIONS[kind], "parameters": parameters}))
    return requests


class Load:
    """Sends the planned requests, SUBMITTERS at a time, and keeps what was acknowledged."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        requests: list[Request],
        *,
        deadline_s: float,
        fault_after: float = 0.5,
    ) -> None:
        self._client = client
        self._requests = requests
        self._deadline_s = deadline_s
        self._fault_threshold = max(1, int(len(requests) * fault_after))
        self.acknowledged: dict[int, Acknowledged] = {}
        self.unacknowledged: list[int] = []
        self.refusals: list[str] = []
        self.retried = 0
        self.fault_time = asyncio.Event()
        """Set once enough requests are acknowledged (or when sending is over)."""

    @property
    def total(self) -> int:
        return len(self._requests)

    def by_kind(self, kind: Kind) -> list[Acknowledged]:
        return [ack for ack in self.acknowledged.values() if ack.kind is kind]

    async def run(self) -> None:
        queue: asyncio.Queue[Request] = asyncio.Queue()
        for request in self._requests:
            queue.put_nowait(request)

        async def sender() -> None:
            while not queue.empty():
                await self._send(queue.get_nowait())

        try:
            await asyncio.gather(*(sender() for _ in range(SUBMITTERS)))
        finally:
            self.fault_time.set()

    async def _send(self, request: Request) -> None:
        deadline = time.monotonic() + self._deadline_s
        answer = await deliver(
            self._client,
            "/executions",
            request.body,
            key=new_key(f"execution-{request.seq}"),
            deadline=deadline,
        )
        if answer.attempts > 1:
            self.retried += 1
        if not answer.acknowledged:
            self.unacknowledged.append(request.seq)
            if answer.response is not None and len(self.refusals) < 5:
                self.refusals.append(f"{answer.response.status_code} {answer.response.text[:200]}")
            return
        execution_id = int(answer.json()["id"])
        self.acknowledged[request.seq] = Acknowledged(request.seq, request.kind, execution_id)
        if len(self.acknowledged) >= self._fault_threshold:
            self.fault_time.set()
