"""Sensors as the API shows them: the definition a pack registered, and how it is doing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from db.models import Sensor
from workflows.sensor import sensor_workflow_id


class SensorStatus(StrEnum):
    """What the sensor's row says of it (its workflow keeps the row current)."""

    DISABLED = "disabled"
    FAILING = "failing"  # its last setup() or poll() raised: see last_error, failing_since
    RUNNING = "running"  # enabled, and its last poll returned
    STARTING = "starting"  # enabled, and no poll has returned yet

    @classmethod
    def of(cls, sensor: Sensor) -> SensorStatus:
        if not sensor.enabled:
            return cls.DISABLED
        if sensor.last_error is not None:
            return cls.FAILING
        return cls.RUNNING if sensor.last_poll_at is not None else cls.STARTING


class SensorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ref: str
    pack_ref: str
    name: str
    label: str | None
    description: str | None
    entry_point: str = Field(description="`sensors/file.py:ClassName`, relative to the pack.")
    trigger_refs: list[str] = Field(description="The triggers the sensor dispatches events on.")
    poll_interval_seconds: int | None
    enabled: bool
    status: SensorStatus = SensorStatus.STARTING
    state: dict[str, Any] = Field(description="The sensor's cursor, saved after every poll.")
    last_poll_at: datetime | None = Field(description="When its last good poll returned.")
    last_error: str | None = Field(
        description="The error (and traceback) of its last failed setup() or poll(), until a "
        "poll succeeds again."
    )
    failing_since: datetime | None = Field(description="When the current run of errors began.")
    workflow_id: str = Field(default="", description="Its `attune.Sensor` workflow's id.")
    web_ui_url: str | None = Field(default=None, description="That workflow in the Web UI.")
    created: datetime
    updated: datetime

    @classmethod
    def of(cls, sensor: Sensor, *, web_ui: str, namespace: str) -> SensorRead:
        workflow_id = sensor_workflow_id(sensor.ref)
        return cls.model_validate(sensor).model_copy(
            update={
                "status": SensorStatus.of(sensor),
                "workflow_id": workflow_id,
                "web_ui_url": f"{web_ui}/namespaces/{namespace}/workflows/{workflow_id}",
            }
        )
