"""Runs in the action's own interpreter: `python python_wrapper.py FILE NAME RESULT_FD`.

Reads the parameters JSON from stdin, imports FILE by path, calls NAME (a function, or a
class whose instance's `run` is called) with the parameters as keywords, awaits the value if
it is awaitable, and writes its JSON to the pipe RESULT_FD. An exception leaves its traceback on
stderr and exit code 1, which the runner reports as a failure.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def import_file(path: Path, module_name: str) -> ModuleType:
    """Import the pack's file at `path` as `module_name` (an action's, or a sensor's)."""
    # The file's folder comes first so it can import its helper modules. The runners start
    # Python with -P, so the wrapper's own folder (whose types.py would shadow the standard
    # library's) is not on the path at all.
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    # Registered before running it, as a normal import does, so dataclasses and pickle work.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_entry(path: Path, name: str) -> Callable[..., Any]:
    """The callable NAME of the file at `path`: a function, or the `run` of a new instance."""
    module = import_file(path, f"attune_action_{path.stem}")
    target: Any = getattr(module, name)
    if inspect.isclass(target):
        instance: Any = target()
        target = instance.run
    if not callable(target):
        raise TypeError(f"{name} in {path} is not callable")
    entry: Callable[..., Any] = target
    return entry


async def _await(value: Awaitable[Any]) -> Any:
    return await value


def main(argv: list[str]) -> int:
    """Run the entry point; 0 when it returned a JSON-encodable value."""
    path, name, result_fd = argv[1:4]
    parameters = json.load(sys.stdin)
    entry = load_entry(Path(path), name)
    value = entry(**parameters)
    if inspect.isawaitable(value):
        value = asyncio.run(_await(value))
    try:
        encoded = json.dumps(value)
    except (TypeError, ValueError) as exc:
        print(f"the return value of {name} is not JSON: {exc}", file=sys.stderr)
        return 1
    with os.fdopen(int(result_fd), "w", encoding="utf-8") as result:
        result.write(encoded)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
