"""A pack workflow attaches artifacts through `attune.sdk`: a text file, a link and its
progress, written by its worker (a workflow writes no files), idempotent on replay."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import TemporalServer
from tests.workflows.histories import assert_replays
from tests.workflows.pack_workflows import finished, pack_with, run_workflow

pytestmark = pytest.mark.usefixtures("worker")

REPORT = """
from attune.sdk import attach_artifact, progress, run_action

class Report:
    async def run(self, service: str) -> dict:
        first = await progress(10, "checking", ref="PACK.report/progress")
        await run_action("PACK.step", {"label": service})
        again = await progress(100, "done", ref="PACK.report/progress")
        text = await attach_artifact(
            "PACK.report", text="# " + service + " is fine\\n", name="report.md"
        )
        same = await attach_artifact(
            "PACK.report", text="# " + service + " is fine\\n", name="report.md"
        )
        link = await attach_artifact("PACK.ticket", url="https://t.example/" + service)
        relinked = await attach_artifact("PACK.ticket", url="https://t.example/" + service)
        unnamed = [await attach_artifact("PACK.note", text="n") for _ in range(2)]
        try:
            await attach_artifact("PACK.bad", url="not a url")
        except ValueError as refused:
            bad = str(refused)
        try:
            await attach_artifact("PACK.nul", data={"a": chr(0)})
        except ValueError as refused:
            nul = str(refused)
        return {
            "progress": [first, again],
            "text": [text, same],
            "link": [link, relinked],
            "unnamed": unnamed,
            "bad": bad,
            "nul": nul,
        }
"""


async def test_a_workflow_attaches_text_a_link_and_progress(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path
) -> None:
    ref = await pack_with(
        api,
        tmp_path,
        "workflows/flow.py:Report",
        REPORT,
        parameters={"service": {"type": "string"}},
    )
    execution_id = await run_workflow(api, f"{ref}.flow", {"service": "checkout"})
    ended = await finished(api, execution_id)
    assert ended["status"] == "completed", ended
    result = ended["result"]
    assert result["progress"][0] == result["progress"][1]  # one artifact, updated
    assert result["text"][0] == result["text"][1]  # attached twice: one artifact
    assert result["link"][0] == result["link"][1]
    assert result["unnamed"][0] == result["unnamed"][1]
    assert "data of a url artifact" in result["bad"]
    assert result["nul"].startswith("data.a: contains a NUL character")

    listed = await api.get(f"/api/v1/executions/{execution_id}/artifacts")
    items = {item["id"]: item for item in listed.json()["items"]}
    assert len(items) == 4
    progress = items[result["progress"][0]]
    assert (progress["type"], progress["data"]) == (
        "progress",
        {"percent": 100.0, "message": "done"},
    )
    report = items[result["text"][0]]
    assert (report["type"], report["name"], report["ref"]) == (
        "file_text",
        "report.md",
        f"{ref}.report",
    )
    assert (report["scope"], report["owner"], report["pack"]) == ("action", f"{ref}.flow", ref)
    assert (await api.get(report["content_url"])).content == b"# checkout is fine\n"
    assert items[result["unnamed"][0]]["name"] == "artifact.txt"
    assert items[result["link"][0]]["data"] == {"url": "https://t.example/checkout", "title": ""}
    await assert_replays(
        temporal.client.get_workflow_handle(f"execution-{execution_id}"), path="artifacts"
    )
