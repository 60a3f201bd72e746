"""Settings: defaults, environment overrides, and bad values named in the error."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from attune.cli import app
from attune.config import LogLevel, SettingsError, load_settings
from attune.encryption_key import KEY_FILE_NAME, generate_encryption_key, resolve_encryption_key


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Start every test from an environment with no Attune settings in it."""
    for name in list(os.environ):
        if name.startswith("ATTUNE_") or name.startswith("TEMPORAL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == tmp_path / ".attune"
    assert settings.database_url is None
    assert settings.temporal_address is None
    assert settings.is_fully_embedded
    assert settings.temporal_namespace == "default"
    assert settings.task_queue == "attune"
    assert (settings.api_host, settings.api_port) == ("127.0.0.1", 8000)
    assert (settings.temporal_port, settings.temporal_ui_port) == (7233, 8233)
    assert settings.encryption_key is None
    assert settings.log_level is LogLevel.INFO


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = generate_encryption_key()
    monkeypatch.setenv("ATTUNE_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("ATTUNE_DATABASE_URL", "postgresql://u:p@db.example:5433/attune")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7234")
    monkeypatch.setenv("ATTUNE_TEMPORAL_NAMESPACE", "ops")
    monkeypatch.setenv("ATTUNE_TASK_QUEUE", "attune-eu")
    monkeypatch.setenv("ATTUNE_API_PORT", "9000")
    monkeypatch.setenv("ATTUNE_TEMPORAL_PORT", "7300")
    monkeypatch.setenv("ATTUNE_TEMPORAL_UI_PORT", "8300")
    monkeypatch.setenv("ATTUNE_ENCRYPTION_KEY", key)
    monkeypatch.setenv("ATTUNE_LOG_LEVEL", "DEBUG")

    settings = load_settings()

    assert settings.data_dir == tmp_path / "elsewhere"
    # The plain scheme is accepted and pinned to the asyncpg driver.
    assert settings.database_url == "postgresql+asyncpg://u:p@db.example:5433/attune"
    assert settings.temporal_address == "temporal.example:7234"
    assert not settings.uses_embedded_database
    assert not settings.uses_embedded_temporal
    assert settings.temporal_namespace == "ops"
    assert settings.task_queue == "attune-eu"
    assert settings.api_port == 9000
    assert (settings.temporal_port, settings.temporal_ui_port) == (7300, 8300)
    assert settings.encryption_key is not None
    assert settings.encryption_key.get_secret_value() == key
    assert settings.log_level is LogLevel.DEBUG


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ATTUNE_API_PORT", "70000"),
        ("ATTUNE_API_PORT", "eighty"),
        ("ATTUNE_TEMPORAL_PORT", "0"),
        ("ATTUNE_TEMPORAL_UI_PORT", "-1"),
        ("ATTUNE_DATABASE_URL", "mysql://root@db/attune"),
        ("TEMPORAL_ADDRESS", "temporal-without-port"),
        ("ATTUNE_ENCRYPTION_KEY", "too-short"),
        ("ATTUNE_PREVIOUS_ENCRYPTION_KEYS", "too-short"),
        ("ATTUNE_CODEC_CORS_ORIGINS", "*"),
        ("ATTUNE_LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert variable in str(raised.value)
    assert repr(value) in str(raised.value)


def test_cli_refuses_to_start_on_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTUNE_API_PORT", "99999")
    result = CliRunner().invoke(app, ["up"])
    assert result.exit_code == 2
    assert "ATTUNE_API_PORT" in result.output


def test_embedded_run_generates_the_key_once(tmp_path: Path) -> None:
    settings = load_settings()
    first = resolve_encryption_key(settings)
    key_file = settings.data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert resolve_encryption_key(settings) == first


def test_external_services_require_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
    with pytest.raises(SettingsError, match="ATTUNE_ENCRYPTION_KEY"):
        resolve_encryption_key(load_settings())


def test_a_damaged_key_file_is_reported(tmp_path: Path) -> None:
    settings = load_settings()
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / KEY_FILE_NAME).write_text("not a key")
    with pytest.raises(SettingsError, match="damaged"):
        resolve_encryption_key(settings)
