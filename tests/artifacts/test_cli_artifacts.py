"""`attune artifact list|get|download` against a real API: a table, a view, and the bytes
of a file written where asked, whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from tests.attune import test_cli_inquiries
from tests.attune.test_cli_inquiries import RunAttune
from tests.db.factories import unique

api_url = test_cli_inquiries.api_url
cli = test_cli_inquiries.cli


async def test_list_get_and_download_an_artifact(
    api: httpx.AsyncClient, cli: RunAttune, tmp_path: Path
) -> None:
    ref = unique("report")
    content = os.urandom(300_000)  # past the inline size: served from the store
    made = await api.post(
        "/api/v1/artifacts", data={"ref": ref}, files={"file": ("weekly.bin", content)}
    )
    assert made.status_code == 201, made.text
    progress = await api.post(
        "/api/v1/artifacts",
        json={"ref": ref + "/p", "type": "progress", "data": {"percent": 42, "message": "going"}},
    )
    artifact_id = str(made.json()["id"])

    listed = await cli("artifact", "list", "--ref", ref)
    assert listed.code == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "REF", "TYPE", "WHAT", "SIZE", "EXECUTION", "CREATED"]
    assert row.split()[:6] == [artifact_id, ref, "file_binary", "weekly.bin", "293.0", "KiB"]
    shown = await cli("artifact", "list", "--ref", ref + "/p")
    assert "42% going" in shown.stdout

    got = await cli("artifact", "get", artifact_id, "-o", "json")
    assert got.code == 0, got.stderr
    assert json.loads(got.stdout)["size_bytes"] == len(content)

    target = tmp_path / "out.bin"
    downloaded = await cli("artifact", "download", artifact_id, "--to", str(target))
    assert downloaded.code == 0, downloaded.stderr
    assert target.read_bytes() == content
    assert f"wrote {target} (300,000 bytes)" in downloaded.stderr
    again = await cli("artifact", "download", artifact_id, "--to", str(target))
    assert again.code == 1
    assert "give --force" in again.stderr
    nothing = tmp_path / "x.bin"
    not_a_file = await cli("artifact", "download", str(progress.json()["id"]), "--to", str(nothing))
    assert not_a_file.code == 1
    assert "has no file" in not_a_file.stderr
    assert not nothing.exists()
    assert not nothing.with_name("x.bin.partial").exists()
    missing = await cli("artifact", "get", "999999999999")
    assert missing.code == 1
    assert "artifact 999999999999 not found" in missing.stderr
