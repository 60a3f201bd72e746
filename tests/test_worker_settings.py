"""What an operator sets for a worker reaches the Temporal worker `attune worker` runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from attune.worker import runner_settings_from, worker_from_settings
from tests.conftest import TemporalServer


async def test_the_sticky_timeout_and_shutdown_grace_configure_the_temporal_worker(
    temporal: TemporalServer, engine: AsyncEngine, settings: Settings
) -> None:
    chosen = settings.model_copy(
        update={"worker_sticky_timeout": 2.5, "worker_shutdown_grace": 7.0}
    )

    worker = worker_from_settings(temporal.client, engine, chosen, runner_settings_from(chosen))

    config = worker.config()
    assert config["sticky_queue_schedule_to_start_timeout"] == timedelta(seconds=2.5)
    assert config["graceful_shutdown_timeout"] == timedelta(seconds=7)
    assert config["task_queue"] == settings.task_queue


def test_the_sticky_timeout_and_restart_delay_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATTUNE_WORKER_STICKY_TIMEOUT", "3")
    monkeypatch.setenv("ATTUNE_RESTART_DELAY", "0.5")

    settings = Settings()

    assert (settings.worker_sticky_timeout, settings.restart_delay) == (3.0, 0.5)


@pytest.mark.parametrize("name", ["ATTUNE_WORKER_STICKY_TIMEOUT", "ATTUNE_RESTART_DELAY"])
def test_a_delay_that_is_not_positive_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "0")

    with pytest.raises(ValidationError, match=name.removeprefix("ATTUNE_").lower()):
        Settings()
