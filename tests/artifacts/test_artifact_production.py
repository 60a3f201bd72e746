"""Actions produce artifacts on a real worker: files left in ATTUNE_ARTIFACTS_DIR become
artifacts when the action ends, a python action updates a progress artifact through the
API while it runs, limits refuse with a reason the result keeps, and no artifact's bytes
reach a Temporal history."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.sdk.v1 import WorkflowMetadata

from attune.config import Settings
from tests.api import test_execution_tokens
from tests.conftest import TemporalServer, make_worker
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.pack_folders import register_pack, write_pack
from tests.polling import until
from tests.workflows.test_encrypted_histories import exported_history, payloads_in

served_settings = test_execution_tokens.served_settings
V1 = "/api/v1"
LIMIT = 100_000

# Writes a CSV and a PNG whose bytes derive from the seed (the seed alone is in the
# command, so the bytes are nowhere but in the files), and an oversized file, and a link.
WRITER = """
import hashlib, json, os, pathlib, sys, zlib, struct
seed, big = sys.argv[1], int(sys.argv[2])
folder = pathlib.Path(os.environ["ATTUNE_ARTIFACTS_DIR"])
digest = hashlib.sha256(seed.encode()).hexdigest()
(folder / "hosts.csv").write_text("host,token\\n" + "\\n".join(
    f"h{n},{digest}{n}" for n in range(3)) + "\\n")
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"\\x00" + bytes.fromhex(digest[:6]))) + chunk(b"IEND", b"")
(folder / "graph.png").write_bytes(png)
if big:
    (folder / "huge.bin").write_bytes(b"z" * big)
    os.symlink("/etc/passwd", folder / "sneaky.txt")
    # A manifest entry named with a NUL, which no result could hold as it is.
    (folder / "attune-artifacts.json").write_text('{"x\\\\u0000": {"type": "pdf"}}')
print(json.dumps({name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
                  for name in ("hosts.csv", "graph.png")}))
"""


def expected_csv(seed: str) -> bytes:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return ("host,token\n" + "\n".join(f"h{n},{digest}{n}" for n in range(3)) + "\n").encode()


# Shows 3 progress values, each after the test has seen the one before (a file it writes).
PROGRESS = """
import pathlib, time
from attune.sdk import artifact

def run(gate: str) -> dict:
    gate_dir = pathlib.Path(gate)
    ids = set()
    for step, percent in enumerate((10, 50, 90)):
        ids.add(artifact.progress(percent, f"step {step}"))
        deadline = time.monotonic() + 60
        while not (gate_dir / f"seen-{step}").exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"nobody saw step {step}")
            time.sleep(0.05)
    artifact.write_text("summary.md", "# done\\n", ref="reports.summary")
    return {"ids": sorted(ids)}
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small artifact limit, and small artifacts kept inline."""
    return settings.model_copy(update={"artifact_inline_bytes": 1024, "artifact_max_bytes": LIMIT})


async def register(api: httpx.AsyncClient, tmp_path: Path) -> str:
    ref = unique("art")
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "writer": {
                "runner_type": "local-shell-script",
                "entry_point": "writer.sh",
                "parameters": {
                    "seed": {"type": "string"},
                    "big": {"type": "integer"},
                },
            },
            "steps": {
                "runner_type": "python-script",
                "entry_point": "steps.py",
                "parameters": {"gate": {"type": "string"}},
            },
        },
        scripts={
            "writer.sh": '#!/bin/sh\nexec python3 "$(dirname "$0")/writer.py" '
            '"$ATTUNE_PARAM_SEED" "$ATTUNE_PARAM_BIG"\n',
            "writer.py": WRITER,
            "steps.py": PROGRESS,
        },
    )
    await register_pack(api, folder)
    return ref


async def run(api: httpx.AsyncClient, action: str, parameters: dict[str, Any]) -> int:
    created = await api.post(f"{V1}/executions", json={"action": action, "parameters": parameters})
    assert created.status_code == 201, created.text
    execution_id: int = created.json()["id"]
    return execution_id


async def artifacts_of(api: httpx.AsyncClient, execution_id: int) -> list[dict[str, Any]]:
    listed = await api.get(f"{V1}/executions/{execution_id}/artifacts")
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return sorted(items, key=lambda item: item["name"] or "")


async def test_files_an_action_writes_become_artifacts_and_stay_out_of_its_history(
    api: httpx.AsyncClient,
    served_settings: Settings,
    temporal: TemporalServer,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    ref = await register(api, tmp_path)
    seed = unique("seed")
    # The worker runs to the end: the Web UI's details are a query it answers.
    async with make_worker(temporal, engine, served_settings):
        execution_id = await run(api, f"{ref}.writer", {"seed": seed, "big": 0})
        ended = await wait_for_status(api, execution_id, within=60)
        assert ended["status"] == "completed", ended
        assert "artifact_errors" not in ended["result"]

        graph, hosts = await artifacts_of(api, execution_id)
        assert (hosts["name"], hosts["type"], hosts["ref"]) == (
            "hosts.csv",
            "file_datatable",
            f"{ref}.writer/hosts.csv",
        )
        assert (graph["name"], graph["type"]) == ("graph.png", "file_image")
        assert (hosts["scope"], hosts["owner"], hosts["pack"]) == ("action", f"{ref}.writer", ref)
        downloaded = await api.get(hosts["content_url"])
        assert downloaded.content == expected_csv(seed)
        assert downloaded.headers["content-type"].startswith("text/csv")
        image = (await api.get(graph["content_url"])).content
        assert image.startswith(b"\x89PNG")
        # What the action wrote, as it saw it: the downloads are the same bytes.
        written = ended["result"]["result"]
        assert hashlib.sha256(image).hexdigest() == graph["sha256"] == written["graph.png"]
        assert hashlib.sha256(downloaded.content).hexdigest() == written["hosts.csv"]

        # The Web UI shows which artifacts the run left, and where they download.
        handle = temporal.client.get_workflow_handle(f"execution-{execution_id}")
        listed = [
            f"graph.png: {served_settings.public_api_url}{graph['content_url']}",
            f"hosts.csv: {served_settings.public_api_url}{hosts['content_url']}",
        ]
        assert (await handle.result())["summary"]["artifacts"] == listed
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        assert "artifacts:\n```\n" + "\n".join(listed) + "\n```" in metadata.current_details

        # What Temporal keeps of the run, decoded: the seed went in; the files' bytes did not.
        export = exported_history(temporal, f"execution-{execution_id}")
        payloads = payloads_in(json.loads(export), set())
        decoded = await api.post(f"{V1}/codec/decode", json={"payloads": payloads})
        assert decoded.status_code == 200, decoded.text
        plain = b"".join(base64.b64decode(item["data"]) for item in decoded.json()["payloads"])
        assert seed.encode() in plain  # the decoding works: the parameters are there
        digest = hashlib.sha256(seed.encode()).hexdigest()
        assert digest.encode() not in plain
        assert b"IHDR" not in plain


async def test_an_oversized_file_or_a_link_is_refused_and_the_result_still_recorded(
    api: httpx.AsyncClient,
    served_settings: Settings,
    temporal: TemporalServer,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    ref = await register(api, tmp_path)
    async with make_worker(temporal, engine, served_settings):
        execution_id = await run(api, f"{ref}.writer", {"seed": "s", "big": LIMIT + 1})
        ended = await wait_for_status(api, execution_id, within=60)
    assert ended["status"] == "completed", ended
    assert set(ended["result"]["result"]) == {"hosts.csv", "graph.png"}
    errors = ended["result"]["artifact_errors"]
    assert sorted(errors) == [
        "attune-artifacts.json: x\ufffd.type: Input should be 'file_binary', 'file_datatable', "
        "'file_image' or 'file_text' (ignored)",
        "huge.bin: artifact 'huge.bin' is larger than the limit of 100,000 bytes",
        "sneaky.txt: is a symbolic link: only regular files become artifacts",
    ]
    assert [item["name"] for item in await artifacts_of(api, execution_id)] == [
        "graph.png",
        "hosts.csv",
    ]
    # Nothing of the refused file stays in the store, nor the run's folder on the host.
    stored = [path.stat().st_size for path in served_settings.artifact_store.iterdir()]
    assert all(size <= LIMIT for size in stored)
    assert list((served_settings.data_dir / "artifacts-work").iterdir()) == []


async def test_a_python_action_updates_its_progress_and_the_api_shows_each_value(
    api: httpx.AsyncClient,
    served_settings: Settings,
    temporal: TemporalServer,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    ref = await register(api, tmp_path)
    gate = tmp_path / "gate"
    gate.mkdir()
    seen: list[tuple[float, str]] = []
    async with make_worker(temporal, engine, served_settings):
        execution_id = await run(api, f"{ref}.steps", {"gate": str(gate)})
        for step, percent in enumerate((10.0, 50.0, 90.0)):

            async def shows(percent: float = percent) -> bool:
                items = await artifacts_of(api, execution_id)
                progress = [item for item in items if item["type"] == "progress"]
                return bool(progress) and progress[0]["data"]["percent"] == percent

            await until(shows, within=30, what=f"progress {percent}")
            [shown] = await artifacts_of(api, execution_id)
            seen.append((shown["data"]["percent"], shown["data"]["message"]))
            running = (await api.get(f"{V1}/executions/{execution_id}")).json()
            assert running["status"] == "running"
            (gate / f"seen-{step}").touch()
        ended = await wait_for_status(api, execution_id, within=60)
    assert ended["status"] == "completed", ended
    assert seen == [(10.0, "step 0"), (50.0, "step 1"), (90.0, "step 2")]
    items = await artifacts_of(api, execution_id)
    progress = [item for item in items if item["type"] == "progress"]
    assert [item["id"] for item in progress] == ended["result"]["result"]["ids"]
    [summary] = [item for item in items if item["type"] == "file_text"]
    assert summary["ref"] == "reports.summary"
    assert (await api.get(summary["content_url"])).content == b"# done\n"
