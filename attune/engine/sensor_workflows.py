"""Keeping one `attune.Sensor` workflow running per enabled sensor, and none for the rest.

The sensor rows are the truth. `reconcile_sensors` starts the workflow of each enabled
sensor whose pack folder is on this machine (a second start of a running one is refused
by Temporal, which is what makes it idempotent and safe from any number of processes at
once) and terminates the running sensor workflows whose sensor is disabled or gone. The
workflows notice a disabled or deleted row by themselves too, after their next poll; this
makes it prompt. New code needs nothing: every lease starts a new process, which imports
the pack's file afresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.sensor_types import DEFAULT_LEASE_SECONDS, SensorInput
from attune.packs.fields import NAME
from db.models import Pack, Sensor
from workflows import search_attributes
from workflows.sensor import SENSOR_WORKFLOW, SensorWorkflow, sensor_workflow_id

logger = logging.getLogger(__name__)

ID_PREFIX = sensor_workflow_id("")


@dataclass
class SensorReconciliation:
    """What one pass did, by sensor ref."""

    started: list[str] = field(default_factory=list)
    already_running: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    no_folder: list[str] = field(default_factory=list)


async def reconcile_sensors(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    *,
    task_queue: str,
    heartbeat_timeout_seconds: float,
    packs: Collection[str] | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> SensorReconciliation:
    """Start the workflows of enabled sensors, terminate those of disabled or deleted ones.

    `packs` limits the pass to those packs' sensors (after one pack registered, say); None
    reconciles them all. A failed start or stop is logged and left to the next pass.
    """
    report = SensorReconciliation()
    wanted: set[str] = set()
    async with sessions() as session:
        query = select(Sensor.ref, Sensor.pack_ref, Sensor.enabled, Pack.path).join(
            Pack, Pack.id == Sensor.pack_id
        )
        if packs is not None:
            query = query.where(Sensor.pack_ref.in_(list(packs)))
        rows = (await session.execute(query.order_by(Sensor.ref))).all()
    folders = await asyncio.to_thread(_existing_folders, {path for *_, path in rows if path})
    for ref, pack_ref, enabled, path in rows:
        if not enabled:
            continue
        wanted.add(ref)
        if path not in folders:
            report.no_folder.append(ref)
            continue
        input = SensorInput(
            ref, heartbeat_timeout_seconds=heartbeat_timeout_seconds, lease_seconds=lease_seconds
        )
        try:
            await client.start_workflow(
                SensorWorkflow.run,
                input,
                id=sensor_workflow_id(ref),
                task_queue=task_queue,
                # A sensor disabled (its workflow ended) and enabled again starts anew.
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(search_attributes.PACK, pack_ref)]
                ),
                static_summary=f"Sensor {ref}",
            )
            report.started.append(ref)
        except WorkflowAlreadyStartedError:
            report.already_running.append(ref)
        except RPCError as error:
            logger.warning("could not start the workflow of sensor %s: %s", ref, error)
    await _stop_unwanted(client, wanted, packs, report)
    return report


def _existing_folders(paths: set[str]) -> set[str]:
    """The pack folders that are on this machine."""
    return {path for path in paths if Path(path).is_dir()}


async def _stop_unwanted(
    client: Client,
    wanted: set[str],
    packs: Collection[str] | None,
    report: SensorReconciliation,
) -> None:
    query = f"WorkflowType = '{SENSOR_WORKFLOW}' AND ExecutionStatus = 'Running'"
    if packs is not None:
        if not packs:
            return
        odd = [pack for pack in packs if not NAME.fullmatch(pack)]
        if odd:  # quoted into the query below, so only what a pack ref can be
            raise ValueError(f"not pack refs: {odd!r}")
        listed = ", ".join(f"'{pack}'" for pack in packs)
        query += f" AND {search_attributes.PACK.name} IN ({listed})"
    async for running in client.list_workflows(query):
        ref = running.id.removeprefix(ID_PREFIX)
        if not running.id.startswith(ID_PREFIX) or ref in wanted:
            continue
        try:
            await client.get_workflow_handle(running.id, run_id=running.run_id).terminate(
                reason=f"sensor {ref} is disabled or no longer exists"
            )
            report.stopped.append(ref)
        except RPCError as error:  # it ended meanwhile, or Temporal is away: next pass
            logger.warning("could not stop the workflow of sensor %s: %s", ref, error)
