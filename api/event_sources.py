"""After the API changes rules or sensors: pass the change on to Temporal's schedules and
sensor workflows at once, rather than at the worker's next pass."""

from __future__ import annotations

import logging
from collections.abc import Collection

from api.services import Services
from attune.engine.event_sources import reconcile_event_sources

logger = logging.getLogger(__name__)


async def pass_on_to_temporal(services: Services, *, packs: Collection[str], sensors: bool) -> None:
    """Reconcile the timers of `packs` (and their sensors, with `sensors`) with the rows
    just committed.

    The rows are the truth and are committed already: if Temporal cannot be reached, the
    change is not refused; every worker reconciles again within a minute.
    """
    try:
        await reconcile_event_sources(
            services.sessions,
            services.starter,
            packs=packs,
            sensors=sensors,
        )
    except Exception:
        logger.warning("could not pass a change on to Temporal yet; workers will", exc_info=True)
