"""`attune codec-endpoint`: what to give a Temporal Web UI of one's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from attune.web_ui_codec import web_ui_secret
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_KEY_BYTES


def codec_endpoint(environment: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("ATTUNE_")}
    return subprocess.run(
        [sys.executable, "-m", "attune", "codec-endpoint"],
        env={**clean, "ATTUNE_DATA_DIR": str(tmp_path / "data"), **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_prints_the_web_ui_endpoint_of_the_configured_key_and_api(tmp_path: Path) -> None:
    ran = codec_endpoint(
        {"ATTUNE_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY, "ATTUNE_API_URL": "https://attune.example"},
        tmp_path,
    )

    assert ran.returncode == 0, ran.stderr
    secret = web_ui_secret(TEST_KEY_BYTES)
    assert ran.stdout.strip() == f"https://attune.example/api/v1/codec/web-ui/{secret}"


def test_without_a_key_against_external_services_it_says_which_setting(tmp_path: Path) -> None:
    ran = codec_endpoint(
        {"ATTUNE_DATABASE_URL": "postgresql://db.example/attune", "TEMPORAL_ADDRESS": "t:7233"},
        tmp_path,
    )

    assert ran.returncode == 2
    assert "ATTUNE_ENCRYPTION_KEY" in ran.stderr
