"""Fixtures of the tests that start `attune up` (test_launcher, test_supervision)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.launched_systems import Ports, Running, kill_all


@pytest.fixture
def ports() -> Ports:
    return Ports.free()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def launched() -> Iterator[list[Running]]:
    """Every `attune up` this test started; any still running at the end is killed."""
    started: list[Running] = []
    yield started
    kill_all(started)
