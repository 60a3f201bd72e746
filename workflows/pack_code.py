"""Importing pack workflow code by version: `attune_pack_code_<digest>.<module>`.

A pack workflow's code is not imported from the pack's folder but from the version its
execution started with, stored in PostgreSQL at registration (`workflow_code`). This
module is an import hook (a `sys.meta_path` finder) serving those versions under
package names of their own, so two versions of one pack live side by side in a worker,
and Temporal's sandbox, which re-imports a workflow's modules by name for every run,
re-imports exactly the version the run needs.

A worker fetches a version the first time it needs it, from the database, and keeps it:
a pack registered a moment ago runs on every worker at once, without a restart. The
fetch is made from the workflow's thread, by running a query on the worker's event loop
(which workflow tasks never run on) and waiting for it, briefly: a workflow task that
blocks 2 s trips the SDK's deadlock detector, so a slow fetch gives up first and the
task is retried. A version the database does not hold is remembered as missing for a few
seconds, so code importing it in a loop does not query once per attempt.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.abc
import importlib.machinery
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from types import CodeType, ModuleType
from typing import Any

PACKAGE_PREFIX = "attune_pack_code_"
FETCH_SECONDS = 1.5
MISSING_SECONDS = 5.0

Fetch = Callable[[str], Coroutine[Any, Any, dict[str, str] | None]]


class PackCodeUnavailable(ImportError):
    """A version's code could not be fetched (the database did not answer): try again."""


def package_for(digest: str) -> str:
    """The package a version of a pack's workflow code is imported as."""
    return f"{PACKAGE_PREFIX}{digest}"


class PackCodeFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves `attune_pack_code_<digest>[.module...]` from the versions it holds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._versions: dict[str, dict[str, str]] = {}
        self._compiled: dict[tuple[str, str], CodeType] = {}
        self._missing: dict[str, float] = {}  # digest -> when it was found missing
        self._lock = threading.Lock()
        self._fetch: Fetch | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def connect(self, fetch: Fetch, loop: asyncio.AbstractEventLoop) -> None:
        """Where versions not held yet come from: `fetch(digest)` run on `loop`."""
        self._fetch, self._loop = fetch, loop

    def hold(self, digest: str, files: dict[str, str]) -> None:
        """Hold a version (tests, and what a fetch brings)."""
        with self._lock:
            self._versions[digest] = files
            self._missing.pop(digest, None)

    def held(self, digest: str) -> dict[str, str]:
        """The files of a version held here (KeyError if it is not)."""
        with self._lock:
            return dict(self._versions[digest])

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(PACKAGE_PREFIX):
            return None
        root, _, rest = fullname.partition(".")
        digest = root.removeprefix(PACKAGE_PREFIX)
        files = self._files(digest)
        if files is None:
            return None  # no such version: ModuleNotFoundError, as for any missing module
        relative = rest.replace(".", "/")
        init = f"{relative}/__init__.py" if rest else "__init__.py"
        # As CPython's path finder: a folder with __init__.py, then a module, then a folder
        # without one (a namespace package).
        if init in files:
            return self._spec(fullname, digest, init, package=True)
        if rest and f"{relative}.py" in files:
            return self._spec(fullname, digest, f"{relative}.py", package=False)
        if not rest or any(name.startswith(f"{relative}/") for name in files):
            return self._spec(fullname, digest, "", package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        assert spec is not None
        assert isinstance(spec.loader_state, tuple)
        digest, relative = spec.loader_state
        if relative:  # running the pack's own code is the point
            exec(self._code(digest, relative), module.__dict__)

    def get_source(self, fullname: str) -> str | None:
        """The source of a module served here, so tracebacks show the pack's lines."""
        spec = self.find_spec(fullname, None)
        if spec is None or not isinstance(spec.loader_state, tuple):
            return None
        digest, relative = spec.loader_state
        return self._versions[digest].get(relative) if relative else ""

    def _spec(
        self, fullname: str, digest: str, relative: str, *, package: bool
    ) -> importlib.machinery.ModuleSpec:
        spec = importlib.machinery.ModuleSpec(
            fullname,
            self,
            origin=f"actions/{relative}" if relative else None,
            loader_state=(digest, relative),
            is_package=package,
        )
        if package:
            spec.submodule_search_locations = []
        return spec

    def _code(self, digest: str, relative: str) -> CodeType:
        key = (digest, relative)
        with self._lock:
            compiled = self._compiled.get(key)
        if compiled is None:
            source = self._versions[digest][relative]
            # Tracebacks name the pack's file as its author knows it.
            compiled = compile(source, f"actions/{relative}", "exec", dont_inherit=True)
            with self._lock:
                self._compiled[key] = compiled
        return compiled

    def _files(self, digest: str) -> dict[str, str] | None:
        with self._lock:
            held = self._versions.get(digest)
            missing_since = self._missing.get(digest)
        if held is not None:
            return held
        if missing_since is not None and self._clock() - missing_since < MISSING_SECONDS:
            return None
        if self._fetch is None or self._loop is None:
            raise PackCodeUnavailable(f"no way to fetch workflow code {digest[:12]} here")
        if _running_on(self._loop):
            raise PackCodeUnavailable("workflow code cannot be fetched from the event loop")
        future = asyncio.run_coroutine_threadsafe(self._fetch(digest), self._loop)
        try:
            fetched = future.result(FETCH_SECONDS)
        except concurrent.futures.TimeoutError:
            future.cancel()  # no query left running for a task that has given up
            raise PackCodeUnavailable(
                f"workflow code {digest[:12]} could not be fetched within {FETCH_SECONDS} s"
            ) from None
        except Exception as error:
            raise PackCodeUnavailable(
                f"workflow code {digest[:12]} could not be fetched: {error}"
            ) from error
        if fetched is None:
            with self._lock:
                self._missing[digest] = self._clock()
        else:
            self.hold(digest, fetched)
        return fetched


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def pack_code_finder() -> PackCodeFinder:
    """The finder of this process, installed on `sys.meta_path` the first time it is asked."""
    for finder in sys.meta_path:
        if isinstance(finder, PackCodeFinder):
            return finder
    finder = PackCodeFinder()
    sys.meta_path.insert(0, finder)
    return finder
