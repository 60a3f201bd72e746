"""Workers: processes that run executions, and their heartbeats.

Each `attune worker` records itself as it starts (`attune.worker_presence`); its name is
its Temporal identity (`pid@host`), the name the Web UI shows for the worker of a task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Record, json_object
from db.models.enums import WORKER_STATUS, WORKER_TYPE, WorkerStatus, WorkerType


class Worker(Record, Base):
    """A registered worker process and its last heartbeat."""

    __tablename__ = "worker"
    __table_args__ = (CheckConstraint("port BETWEEN 1 AND 65535", name="port_range"),)

    name: Mapped[str] = mapped_column(Text)
    worker_type: Mapped[WorkerType] = mapped_column(WORKER_TYPE)
    status: Mapped[WorkerStatus] = mapped_column(
        WORKER_STATUS, default=WorkerStatus.ACTIVE, server_default=text("'active'"), index=True
    )
    runtime_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("attune.runtime.id", ondelete="SET NULL")
    )
    host: Mapped[str | None] = mapped_column(Text)
    port: Mapped[int | None] = mapped_column(Integer)
    capabilities: Mapped[dict[str, Any]] = json_object()
    meta: Mapped[dict[str, Any]] = json_object()
    last_heartbeat: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    pid: Mapped[int | None] = mapped_column(Integer)
    task_queues: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'::text[]")
    )
    version: Mapped[str | None] = mapped_column(Text)
    # How often it stamps `last_heartbeat`: silent for three of these, it is lost.
    heartbeat_seconds: Mapped[float | None] = mapped_column(Float)
    stopped: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
