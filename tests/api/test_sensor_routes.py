"""`GET /api/v1/sensors` and `GET /api/v1/sensors/{ref}`: the rows, and the status each shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.db.factories import make_pack, make_sensor

SINCE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def four_sensors(session: AsyncSession) -> str:
    """A pack with one sensor in each status, named for it; the pack's ref."""
    pack = await make_pack(session)
    await make_sensor(session, pack, "disabled", enabled=False, last_error="old news")
    await make_sensor(
        session,
        pack,
        "failing",
        last_poll_at=SINCE,
        last_error="poll() raised RuntimeError: down\nTraceback ...",
        failing_since=SINCE + timedelta(minutes=1),
    )
    await make_sensor(
        session, pack, "running", last_poll_at=SINCE, state={"cursor": 7}, trigger_refs=["x.y"]
    )
    await make_sensor(session, pack, "starting")
    await session.commit()
    return pack.ref


async def test_each_sensor_shows_the_status_its_row_says(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    pack = await four_sensors(session)

    page = await api.get("/api/v1/sensors", params={"pack": pack})

    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert [(item["name"], item["status"]) for item in items] == [
        ("disabled", "disabled"),
        ("failing", "failing"),
        ("running", "running"),
        ("starting", "starting"),
    ]
    failing = (await api.get(f"/api/v1/sensors/{pack}.failing")).json()
    assert failing["last_error"].startswith("poll() raised RuntimeError: down")
    assert failing["failing_since"] == "2026-12-01T09:01:00Z"
    running = (await api.get(f"/api/v1/sensors/{pack}.running")).json()
    assert running["state"] == {"cursor": 7}
    assert running["trigger_refs"] == ["x.y"]
    assert running["last_error"] is None
    assert running["workflow_id"] == f"sensor-{pack}.running"
    assert running["web_ui_url"].endswith(f"/namespaces/default/workflows/sensor-{pack}.running")


async def test_sensors_page_by_offset_in_ref_order(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    pack = await four_sensors(session)

    first = (await api.get("/api/v1/sensors", params={"pack": pack, "limit": 3})).json()
    rest = (
        await api.get(
            "/api/v1/sensors", params={"pack": pack, "limit": 3, "offset": first["next_offset"]}
        )
    ).json()

    assert first["next_offset"] == 3
    assert [item["name"] for item in first["items"] + rest["items"]] == [
        "disabled",
        "failing",
        "running",
        "starting",
    ]
    assert rest["next_offset"] is None


async def test_an_unknown_sensor_is_a_404_naming_it(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/sensors/nopack.nothing")

    assert response.status_code == 404
    assert "nopack.nothing" in response.json()["error"]["message"]
