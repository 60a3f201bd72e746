"""`attune sensor list` against a real API server over HTTP."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from attune.cli_sensors import sensor_app
from tests.api.test_sensor_routes import four_sensors
from tests.attune import test_cli_inquiries

# The API on a free port, as the inquiry CLI's tests serve it.
api_url = test_cli_inquiries.api_url


async def sensor_list(api_url: str, token: str, *arguments: str) -> Result:
    """Run `sensor list ARGUMENTS` in a thread: the CLI's HTTP calls are blocking ones."""
    environment = {"ATTUNE_API_URL": api_url, "ATTUNE_API_TOKEN": token, "COLUMNS": "200"}
    return await asyncio.to_thread(
        CliRunner().invoke, sensor_app, ["list", *arguments], env=environment
    )


async def test_the_table_shows_each_sensor_with_its_status_and_error(
    api_url: str, admin_token: str, session: AsyncSession
) -> None:
    pack = await four_sensors(session)

    ran = await sensor_list(api_url, admin_token, "--pack", pack)

    assert ran.exit_code == 0, ran.output
    lines = ran.output.splitlines()
    assert lines[0].split() == ["REF", "STATUS", "EVERY", "LAST", "POLL", "TRIGGERS", "ERROR"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows[f"{pack}.failing"].split()[1] == "failing"
    assert "poll() raised RuntimeError: down" in rows[f"{pack}.failing"]
    assert "Traceback" not in ran.output  # the first line of an error only
    assert rows[f"{pack}.running"].split()[1:3] == ["running", "-"]
    assert "2026-12-01 09:00:00" in rows[f"{pack}.running"]
    assert rows[f"{pack}.starting"].split()[1] == "starting"
    assert "never" in rows[f"{pack}.starting"]


async def test_json_output_is_the_apis_items(
    api_url: str, admin_token: str, session: AsyncSession
) -> None:
    pack = await four_sensors(session)

    ran = await sensor_list(api_url, admin_token, "--pack", pack, "-o", "json")

    assert ran.exit_code == 0, ran.output
    items = json.loads(ran.output)
    assert [(item["name"], item["status"]) for item in items] == [
        ("disabled", "disabled"),
        ("failing", "failing"),
        ("running", "running"),
        ("starting", "starting"),
    ]


async def test_a_refused_call_exits_1_with_the_apis_message(api_url: str) -> None:
    ran = await sensor_list(api_url, "att_not-a-real-token")

    assert ran.exit_code == 1
    assert "HTTP 401" in ran.output
