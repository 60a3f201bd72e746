"""Workers as the API shows them: each `attune worker` process that recorded itself."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from db.models import Worker
from db.repositories.worker import LOST_AFTER_BEATS, WorkerState


class WorkerRead(BaseModel):
    id: int
    name: str = Field(description="Its Temporal identity (`pid@host`), as the Web UI shows it.")
    host: str | None
    pid: int | None
    task_queues: list[str]
    version: str | None = Field(description="The Attune version it runs.")
    state: WorkerState = Field(
        description=f"`alive`; `lost` when silent for {LOST_AFTER_BEATS} of its heartbeat "
        "intervals without a clean stop; `inactive` once it stopped cleanly."
    )
    started: datetime
    last_heartbeat: datetime | None
    heartbeat_seconds: float | None = Field(description="How often it stamps its heartbeat.")
    stopped: datetime | None = Field(description="When it stopped cleanly.")

    @classmethod
    def of(cls, worker: Worker, state: WorkerState) -> WorkerRead:
        return cls(
            id=worker.id,
            name=worker.name,
            host=worker.host,
            pid=worker.pid,
            task_queues=list(worker.task_queues),
            version=worker.version,
            state=state,
            started=worker.created,
            last_heartbeat=worker.last_heartbeat,
            heartbeat_seconds=worker.heartbeat_seconds,
            stopped=worker.stopped,
        )
