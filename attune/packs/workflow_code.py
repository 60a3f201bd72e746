"""A pack's workflow code: its Python files under `actions/`, checked, and their digest.

A python-workflow action runs on every worker from the code stored at registration
(`db.models.WorkflowCode`), not from the pack's folder, which may be on another machine
or may have changed since a run began. All of `actions/**.py` is kept, so a workflow may
import the pack's other modules (`from . import helpers`, `from .lib import checks`).
Nothing is run here: each file is only compiled, so a syntax error names its file and
line at registration, and the entry point's class is found in the syntax tree.
"""

from __future__ import annotations

import ast
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from attune.excerpts import excerpt
from attune.packs.problems import Problems

MAX_CODE_FILES = 500
MAX_CODE_BYTES = 4 * 1024 * 1024
SKIPPED_FOLDERS = frozenset({"__pycache__", ".git"})


@dataclass(frozen=True)
class WorkflowCode:
    """The files (paths relative to actions/, POSIX style) and the digest naming them."""

    digest: str
    files: dict[str, str] = field(hash=False, compare=False)


def collect_workflow_code(folder: Path, problems: Problems) -> WorkflowCode | None:
    """Every `actions/**.py` of the pack, compiled; None (with problems) when one is bad."""
    actions = folder / "actions"
    files: dict[str, str] = {}
    total = 0
    before = problems.count
    for path in sorted(_python_files(actions)):
        relative = path.relative_to(actions).as_posix()
        where = f"actions/{relative}"
        try:
            real = path.resolve()
            if not real.is_relative_to(folder.resolve()):
                problems.add(where, None, "is a symbolic link leading outside the pack; refused")
                continue
            source = real.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, RuntimeError) as error:
            problems.add(where, None, f"cannot be read as UTF-8 text: {type(error).__name__}")
            continue
        total += len(source.encode())
        if len(files) >= MAX_CODE_FILES or total > MAX_CODE_BYTES:
            problems.add(
                "actions",
                None,
                f"holds more Python than a workflow's code may ({MAX_CODE_FILES} files, "
                f"{MAX_CODE_BYTES} bytes)",
            )
            return None
        _check_syntax(source, where, problems)
        files[relative] = source
    if problems.count != before:
        return None
    return WorkflowCode(_digest(files), files)


def check_entry_class(code: WorkflowCode, entry_point: str, file: str, problems: Problems) -> None:
    """The entry point's file must define its class at top level, with `async def run`."""
    relative, _, name = entry_point.partition(":")
    source = code.files.get(relative)
    if source is None:
        problems.add(
            file, "entry_point", f"{excerpt(relative)} is not a Python file under actions/"
        )
        return
    tree = ast.parse(source)
    found = next(
        (node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == name),
        None,
    )
    if found is None:
        problems.add(file, "entry_point", f"actions/{relative} defines no class {excerpt(name)}")
        return
    runs = [
        node
        for node in found.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "run"
    ]
    if not runs or not isinstance(runs[-1], ast.AsyncFunctionDef):
        problems.add(
            file,
            "entry_point",
            f"class {excerpt(name)} of actions/{relative} has no `async def run(self, ...)`",
        )


def module_name(relative: str) -> str:
    """`workflows/deploy.py` -> `workflows.deploy` (a package's `__init__.py` -> its name)."""
    parts = relative.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _python_files(actions: Path) -> list[Path]:
    found: list[Path] = []
    if not actions.is_dir():
        return found
    for current, folders, names in os.walk(actions, followlinks=False):
        folders[:] = [name for name in folders if name not in SKIPPED_FOLDERS]
        found.extend(Path(current) / name for name in names if name.endswith(".py"))
    return found


def _check_syntax(source: str, where: str, problems: Problems) -> None:
    try:
        compile(source, where, "exec", dont_inherit=True)
    except SyntaxError as error:
        problems.add(where, None, f"line {error.lineno}: {error.msg}")
    except (ValueError, RecursionError, MemoryError) as error:  # NUL bytes, absurd nesting
        problems.add(where, None, f"cannot be compiled: {type(error).__name__}")


def _digest(files: dict[str, str]) -> str:
    hasher = hashlib.sha256()
    for relative in sorted(files):
        hasher.update(relative.encode() + b"\0" + files[relative].encode() + b"\0")
    return hasher.hexdigest()
