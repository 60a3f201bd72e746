"""A pack folder per test, under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """An empty pack: `<tmp>/pack/actions/`."""
    (tmp_path / "pack" / "actions").mkdir(parents=True)
    return tmp_path / "pack"
