"""Sensors: list and show, each with its status (running, starting, failing, disabled)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServicesDep, SessionDep
from api.responses import errors_of
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page, present
from api.schemas.sensors import SensorRead
from api.services import Services
from db.models import Sensor
from db.repositories import sensor as sensors

router = APIRouter(prefix="/sensors", tags=["sensors"])


@router.get("")
async def list_sensors(
    session: SessionDep,
    services: ServicesDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
    pack: str | None = None,
) -> CatalogPage[SensorRead]:
    """Sensors in ref order, optionally those of one pack."""
    rows = await sensors.repository.list(
        session, limit=limit, offset=offset, **present(pack_ref=pack)
    )
    return catalog_page(rows, lambda row: _read(row, services), limit=limit, offset=offset)


@router.get("/{ref}", responses=errors_of(404))
async def get_sensor(session: SessionDep, services: ServicesDep, ref: str) -> SensorRead:
    """One sensor; `last_error` and `failing_since` say why it is `failing`."""
    return _read(await sensors.repository.get_by_key(session, ref), services)


def _read(sensor: Sensor, services: Services) -> SensorRead:
    settings = services.settings
    return SensorRead.of(
        sensor, web_ui=settings.public_temporal_ui_url, namespace=settings.temporal_namespace
    )
