"""Artifacts on the event stream: one created, and each change of a progress artifact's
data with the value riding along."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.api.test_stream import Events, listen
from tests.attune import test_cli_inquiries
from tests.db.factories import unique

api_url = test_cli_inquiries.api_url


async def test_progress_changes_reach_the_stream_in_order(
    api: httpx.AsyncClient, api_url: str, admin_token: str
) -> None:
    ref = unique("streamed")

    def three_of_ours(events: Events) -> bool:
        return len([e for e in events if e.get("ref") == ref]) == 3

    listening = asyncio.create_task(
        listen(api_url, admin_token, three_of_ours, params={"kind": "artifact", "seconds": 20})
    )
    await asyncio.sleep(0.5)  # subscribed
    made = await api.post(
        "/api/v1/artifacts",
        json={"ref": ref, "type": "progress", "data": {"percent": 10, "message": "a"}},
    )
    assert made.status_code == 201, made.text
    artifact_id = made.json()["id"]
    for percent in (50, 90):
        changed = await api.patch(
            f"/api/v1/artifacts/{artifact_id}", json={"data": {"percent": percent}}
        )
        assert changed.status_code == 200, changed.text
    events = await asyncio.wait_for(listening, 30)

    ours: list[dict[str, Any]] = [e for e in events if e.get("ref") == ref]
    assert [(e["sse_event"], e["change"], e["data"]["percent"]) for e in ours] == [
        ("artifact", "created", 10.0),
        ("artifact", "updated", 50.0),
        ("artifact", "updated", 90.0),
    ]
    assert {e["entity_id"] for e in ours} == {artifact_id}
    assert {e["type"] for e in ours} == {"progress"}
