"""Pack folders for tests, written under tmp_path in a line each."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from attune.packs.loader import load_pack
from attune.packs.problems import PackError, Problem

PACK = {"ref": "sample", "label": "Sample", "version": "1.0.0"}
CORE = Path(__file__).resolve().parents[3] / "packs" / "core"
"""The bundled core pack."""


def write_pack(folder: Path, files: Mapping[str, Any] | None = None, **pack: Any) -> Path:
    """A pack folder: pack.yaml is a valid minimum updated with `pack` (a None value drops
    that field), then each of `files` (path: mapping or list, written as YAML; str as is)."""
    fields = {key: value for key, value in (PACK | pack).items() if value is not None}
    write_file(folder, "pack.yaml", fields)
    for name, content in (files or {}).items():
        write_file(folder, name, content)
    return folder


def write_file(folder: Path, name: str, content: Any) -> None:
    """Write one file of a pack folder, making its folders."""
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
    target.write_text(text, encoding="utf-8")


def problems_of(folder: Path) -> list[Problem]:
    """The problems `load_pack` refuses the folder with (it must refuse it)."""
    with pytest.raises(PackError) as caught:
        load_pack(folder)
    return list(caught.value.problems)


def only_problem(folder: Path) -> Problem:
    """The single problem the folder is refused with."""
    problems = problems_of(folder)
    assert len(problems) == 1, problems
    return problems[0]
