"""`attune.run_sensor`: one lease of one sensor, its events ingested and its cursor saved.

The activity starts the sensor's host process (`activities.sensor_process`), polls it every
`poll_interval`, turns each dispatch into an event through the normal ingestion and writes
the state to the sensor's row after each poll. After `lease_seconds` it stops the process
and returns, so its workflow can continue as new; a changed or disabled row ends the lease
at once, so new code and settings apply from the next one.

A sensor that raises, hangs or breaks the protocol is recorded on its row (`last_error`,
`failing_since`) and the activity fails, so Temporal retries it with backoff; the pending
activity's last failure shows the same error in the Web UI.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.execution import RunnerSettings
from activities.runners.heartbeat import wait_heartbeating
from activities.sensor_process import HostOptions, SensorFailed, SensorProcess, SensorSpec
from activities.sensor_types import SensorLease, SensorLeaseEnded
from attune import errors
from attune.engine.event_ingestion import EventSource, accept_sourced_event
from attune.engine.workflow_starts import WorkflowStarter
from attune.json_limits import check_json
from attune.sdk.sensors import checked_state
from db.models import Pack, Sensor
from db.repositories import pack as packs
from db.repositories import sensor as sensors
from db.repositories import trigger as triggers

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 8 * 1024
MAX_DEDUPE_KEY_CHARS = 256
SENSOR_FAILED = "SensorFailed"


def _fingerprint(sensor: Sensor, pack: Pack | None) -> tuple[Any, ...]:
    """What a running host was started with: when it changes, the lease ends.

    The pack's folder is in it because an upload puts new code in a new folder.
    """
    pack_part = (pack.path, pack.config) if pack is not None else None
    return (sensor.entry_point, tuple(sensor.trigger_refs), sensor.poll_interval_seconds, pack_part)


class SensorActivities:
    """`sessions` are ordinary sessions (ingestion commits), `starter` starts the events'
    executions, `settings` are the worker's for actions: sensors run as actions do."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        starter: WorkflowStarter,
        settings: RunnerSettings,
    ) -> None:
        self._sessions = sessions
        self._starter = starter
        self._settings = settings

    @activity.defn(name="attune.run_sensor")
    async def run_sensor(self, lease: SensorLease) -> SensorLeaseEnded:
        """Run the sensor for one lease; fail (to be retried) when the sensor fails."""
        token = _lease_token()
        async with self._sessions.begin() as session:
            await sensors.claim_lease(session, ref=lease.ref, token=token)
        async with self._sessions() as session:
            loaded = await self._load(session, lease.ref)
        if isinstance(loaded, str):
            return SensorLeaseEnded(lease.ref, 0, keep_running=False, reason=loaded)
        sensor, spec, started_with = loaded
        due_in = _remaining_pause(sensor.last_poll_at, spec.poll_interval)
        if due_in > lease.lease_seconds:  # a sensor polling less often than a lease lasts
            return SensorLeaseEnded(lease.ref, 0, keep_running=True, reason="", wait_seconds=due_in)
        polls = 0
        try:
            polls, reason = await self._run(sensor, spec, started_with, lease, token)
        except sensors.LeaseLost:
            # A worker cut off from Temporal: the sensor went on elsewhere; stop here.
            return SensorLeaseEnded(lease.ref, polls, keep_running=True, reason="lease taken over")
        except SensorFailed as failure:
            error = str(failure)[:MAX_ERROR_CHARS]
            await self._record_failure(sensor.id, error)
            raise ApplicationError(f"sensor {lease.ref}: {error}", type=SENSOR_FAILED) from None
        return SensorLeaseEnded(lease.ref, polls, keep_running=reason is None, reason=reason or "")

    async def _load(
        self, session: AsyncSession, ref: str
    ) -> tuple[Sensor, SensorSpec, tuple[Any, ...]] | str:
        """The sensor's row and what its host needs; a reason when it is not to run."""
        sensor = await sensors.repository.find_by_key(session, ref)
        if sensor is None:
            return "the sensor no longer exists"
        if not sensor.enabled:
            return "the sensor is disabled"
        pack = await packs.repository.find(session, id=sensor.pack_id)
        if pack is None or not pack.path:
            return "the sensor's pack has no folder"
        spec = SensorSpec(
            ref=sensor.ref,
            pack_ref=sensor.pack_ref,
            pack_path=pack.path,
            entry_point=sensor.entry_point,
            trigger_refs=tuple(sensor.trigger_refs),
            config=dict(pack.config or {}),
            state=dict(sensor.state or {}),
            poll_interval=float(sensor.poll_interval_seconds or 60),
        )
        return sensor, spec, _fingerprint(sensor, pack)

    async def _run(
        self,
        sensor: Sensor,
        spec: SensorSpec,
        started_with: tuple[Any, ...],
        lease: SensorLease,
        token: str,
    ) -> tuple[int, str | None]:
        """Polls made, and why the sensor is to stop (None: carry on in the next lease)."""
        settings = self._settings
        options = HostOptions(
            api_url=settings.api_url,
            heartbeat=activity.heartbeat,
            heartbeat_interval=settings.heartbeat_interval,
            kill_grace_seconds=settings.kill_grace_seconds,
            run_as=settings.action_user,
        )
        deadline = time.monotonic() + lease.lease_seconds
        sensor_id, interval = sensor.id, spec.poll_interval

        async def answer(message: dict[str, Any]) -> dict[str, Any]:
            if message["kind"] == "state":
                return await self._save_state(sensor_id, token, message.get("state"))
            return await self._ingest(sensor, token, message)

        polls = 0
        # Paced from the last poll of whichever worker made it, so a new lease or another
        # worker does not poll early.
        pause = _remaining_pause(sensor.last_poll_at, interval)
        async with SensorProcess.started(spec, options) as host:
            await host.ready(answer, idle_seconds=lease.poll_timeout_seconds)
            while True:
                await self._pause(pause)
                state = await host.poll(answer, idle_seconds=lease.poll_timeout_seconds)
                polls += 1
                current = await self._record_poll(sensor_id, token, state)
                if current is None:
                    return polls, "the sensor was disabled or deleted"
                if current != started_with:
                    break  # new code or settings: the next lease starts with them
                pause = interval
                if time.monotonic() + pause >= deadline:
                    break
            await host.stop(idle_seconds=settings.kill_grace_seconds)
        return polls, None

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            never = asyncio.get_running_loop().create_future()
            await wait_heartbeating(
                never,
                seconds=seconds,
                heartbeat=activity.heartbeat,
                interval=self._settings.heartbeat_interval,
            )

    async def _ingest(self, sensor: Sensor, token: str, message: dict[str, Any]) -> dict[str, Any]:
        """One dispatch as an event of the sensor; what to tell the sensor."""
        ref, key = message.get("trigger"), message.get("dedupe_key")
        if not isinstance(ref, str) or ref not in sensor.trigger_refs:
            return {"refused": f"{ref!r} is not one of this sensor's triggers"}
        if key is not None and (not isinstance(key, str) or len(key) > MAX_DEDUPE_KEY_CHARS):
            return {"refused": f"dedupe_key must be a string of at most {MAX_DEDUPE_KEY_CHARS}"}
        async with self._sessions() as session:
            await sensors.hold_lease(session, id=sensor.id, token=token)
            trigger = await triggers.repository.find_by_key(session, ref)
            if trigger is None:
                return {"refused": f"trigger {ref!r} no longer exists"}
            if not trigger.enabled:
                # Refused, not dropped: the cursor stays put until the trigger is enabled.
                return {"refused": f"trigger {ref!r} is disabled"}
            source = EventSource(
                sensor_id=sensor.id,
                dedupe_key=None if key is None else f"sensor:{sensor.ref}:{key}",
            )
            try:
                ingested = await accept_sourced_event(
                    session,
                    self._starter,
                    trigger=trigger,
                    payload=message.get("payload"),
                    encryption_key=self._settings.encryption_key,
                    source=source,
                )
            except errors.AttuneError as refused:
                await session.rollback()
                return {"refused": refused.message}
        return {"stored": ingested is not None}

    async def _save_state(self, sensor_id: int, token: str, state: Any) -> dict[str, Any]:
        """`set_state()` in the middle of a poll."""
        try:
            state = _checked(state)
        except (errors.ValidationError, TypeError, ValueError) as refused:
            return {"refused": str(refused)}
        async with self._sessions.begin() as session:
            await sensors.write_under_lease(
                session, id=sensor_id, token=token, changes={"state": state}
            )
        return {"saved": True}

    async def _record_poll(
        self, sensor_id: int, token: str, state: dict[str, Any]
    ) -> tuple[Any, ...] | None:
        """Save the state of a good poll and clear the error; the row's fingerprint as it is
        now, None when it is disabled or gone."""
        try:
            state = _checked(state)
        except (errors.ValidationError, TypeError, ValueError) as refused:
            raise SensorFailed(f"poll() left a state Attune cannot keep: {refused}") from None
        changes = {
            "state": state,
            "last_poll_at": datetime.now(UTC),
            "last_error": None,
            "failing_since": None,
        }
        async with self._sessions.begin() as session:
            current = await sensors.write_under_lease(
                session, id=sensor_id, token=token, changes=changes
            )
            if current is None or not current.enabled:
                return None
            return _fingerprint(current, await packs.repository.find(session, id=current.pack_id))

    async def _record_failure(self, sensor_id: int, error: str) -> None:
        async with self._sessions.begin() as session:
            sensor = await sensors.repository.find(session, id=sensor_id)
            if sensor is None:
                return
            changes: dict[str, Any] = {"last_error": error}
            if sensor.failing_since is None:
                changes["failing_since"] = datetime.now(UTC)
            await sensors.repository.update(session, id=sensor_id, changes=changes)
        logger.warning("sensor %s failed: %s", sensor.ref, error.splitlines()[0])


def _lease_token() -> str:
    """This attempt of this activity: a retry elsewhere is a new token."""
    info = activity.info()
    return f"{info.workflow_run_id}/{info.activity_id}/{info.attempt}"


def _checked(state: Any) -> dict[str, Any]:
    """A state from the sensor's process, bounded as the SDK bounds it, storable as JSONB."""
    checked = checked_state(state)
    check_json(checked, field="state")
    return checked


def _remaining_pause(last_poll_at: datetime | None, interval: float) -> float:
    if last_poll_at is None:
        return 0.0
    since = (datetime.now(UTC) - last_poll_at).total_seconds()
    return max(0.0, min(interval, interval - since))
