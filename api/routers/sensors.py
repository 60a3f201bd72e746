"""Sensors: list and show, each with its status (running, starting, failing, disabled)."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import needs
from api.catalog_access import PermissionsDep, content_by_ref, visible_content
from api.deps import ServicesDep, SessionDep
from api.responses import errors_of
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page, present
from api.schemas.sensors import SensorRead
from api.services import Services
from attune.auth.permissions import Resource, Verb
from db.models import Sensor
from db.repositories import sensor as sensors

router = APIRouter(prefix="/sensors", tags=["sensors"])


@router.get("", responses=errors_of(403), **needs(Resource.SENSOR, Verb.VIEW))
async def list_sensors(
    session: SessionDep,
    services: ServicesDep,
    permissions: PermissionsDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
    pack: str | None = None,
) -> CatalogPage[SensorRead]:
    """The sensors the caller may view, in ref order, optionally those of one pack."""
    visible = visible_content(permissions, Resource.SENSOR, Sensor)
    rows = await sensors.repository.list(
        session, limit=limit, offset=offset, where=[visible], **present(pack_ref=pack)
    )
    return catalog_page(rows, lambda row: _read(row, services), limit=limit, offset=offset)


@router.get("/{ref}", responses=errors_of(403, 404), **needs(Resource.SENSOR, Verb.VIEW))
async def get_sensor(
    session: SessionDep, services: ServicesDep, permissions: PermissionsDep, ref: str
) -> SensorRead:
    """One sensor; `last_error` and `failing_since` say why it is `failing`."""
    sensor = await content_by_ref(
        session, sensors.repository, ref, permissions=permissions, resource=Resource.SENSOR
    )
    return _read(sensor, services)


def _read(sensor: Sensor, services: Services) -> SensorRead:
    settings = services.settings
    return SensorRead.of(
        sensor, web_ui=settings.public_temporal_ui_url, namespace=settings.temporal_namespace
    )
