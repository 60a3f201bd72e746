"""The import hook serving pack workflow code by version, on its own: no servers."""

from __future__ import annotations

import asyncio
import importlib
import sys
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from workflows import pack_code
from workflows.pack_code import PackCodeFinder, PackCodeUnavailable, package_for


@contextmanager
def installed(finder: PackCodeFinder) -> Iterator[PackCodeFinder]:
    """The finder alone on sys.meta_path (the worker's, from other tests, set aside);
    whatever it imported is forgotten after."""
    others = [each for each in sys.meta_path if isinstance(each, PackCodeFinder)]
    for other in others:
        sys.meta_path.remove(other)
    sys.meta_path.insert(0, finder)
    try:
        yield finder
    finally:
        sys.meta_path.remove(finder)
        sys.meta_path[0:0] = others
        for name in [name for name in sys.modules if name.startswith(pack_code.PACKAGE_PREFIX)]:
            del sys.modules[name]


@pytest.fixture
def finder() -> Iterator[PackCodeFinder]:
    with installed(PackCodeFinder()) as finder:
        yield finder


def new_digest() -> str:
    return uuid.uuid4().hex


def test_a_module_imports_its_pack_siblings_relatively(finder: PackCodeFinder) -> None:
    digest = new_digest()
    finder.hold(
        digest,
        {
            "workflows/flow.py": "from . import helpers\nANSWER = helpers.double(21)\n",
            "workflows/helpers.py": "def double(n):\n    return 2 * n\n",
        },
    )

    flow = importlib.import_module(f"{package_for(digest)}.workflows.flow")

    assert flow.ANSWER == 42
    assert flow.__spec__ is not None
    assert flow.__spec__.origin == "actions/workflows/flow.py"


def test_two_versions_of_one_module_live_side_by_side(finder: PackCodeFinder) -> None:
    old, new = new_digest(), new_digest()
    finder.hold(old, {"flow.py": "VERSION = 1\n"})
    finder.hold(new, {"flow.py": "VERSION = 2\n"})

    assert importlib.import_module(f"{package_for(old)}.flow").VERSION == 1
    assert importlib.import_module(f"{package_for(new)}.flow").VERSION == 2


def test_a_package_wins_over_a_module_of_the_same_name_as_in_cpython(
    finder: PackCodeFinder,
) -> None:
    digest = new_digest()
    finder.hold(digest, {"tools.py": "WHICH = 'module'\n", "tools/__init__.py": "WHICH = 'pkg'\n"})

    assert importlib.import_module(f"{package_for(digest)}.tools").WHICH == "pkg"


def test_a_module_wins_over_a_folder_without_init(finder: PackCodeFinder) -> None:
    digest = new_digest()
    finder.hold(digest, {"tools.py": "WHICH = 'module'\n", "tools/extra.py": "X = 1\n"})

    assert importlib.import_module(f"{package_for(digest)}.tools").WHICH == "module"


def test_a_folder_without_init_is_a_package(finder: PackCodeFinder) -> None:
    digest = new_digest()
    finder.hold(digest, {"lib/deep/mod.py": "X = 7\n"})

    assert importlib.import_module(f"{package_for(digest)}.lib.deep.mod").X == 7


def test_a_module_the_version_lacks_is_not_found(finder: PackCodeFinder) -> None:
    digest = new_digest()
    finder.hold(digest, {"flow.py": ""})

    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"{package_for(digest)}.nothing")


def test_a_traceback_shows_the_pack_line_that_raised(finder: PackCodeFinder) -> None:
    digest = new_digest()
    finder.hold(digest, {"flow.py": "def go():\n    raise ValueError('from the pack')\n"})
    flow = importlib.import_module(f"{package_for(digest)}.flow")

    with pytest.raises(ValueError, match="from the pack") as raised:
        flow.go()

    shown = "".join(traceback.format_exception(raised.value))
    assert 'File "actions/flow.py", line 2, in go' in shown
    assert "raise ValueError('from the pack')" in shown


def test_nothing_to_fetch_with_is_unavailable_not_missing(finder: PackCodeFinder) -> None:
    with pytest.raises(PackCodeUnavailable, match="no way to fetch"):
        importlib.import_module(f"{package_for(new_digest())}.flow")


async def test_a_version_not_held_is_fetched_once_and_kept(finder: PackCodeFinder) -> None:
    digest = new_digest()
    asked: list[str] = []

    async def fetch(wanted: str) -> dict[str, str] | None:
        asked.append(wanted)
        return {"flow.py": "X = 'fetched'\n"}

    finder.connect(fetch, asyncio.get_running_loop())
    name = f"{package_for(digest)}.flow"
    module = await asyncio.to_thread(importlib.import_module, name)
    del sys.modules[name]
    await asyncio.to_thread(importlib.import_module, name)  # imported again: still held

    assert module.X == "fetched"
    assert asked == [digest]


async def test_a_version_the_database_lacks_is_remembered_missing_for_a_while() -> None:
    now = [1000.0]
    finder = PackCodeFinder(clock=lambda: now[0])
    digest = new_digest()
    asked: list[str] = []

    async def fetch(wanted: str) -> dict[str, str] | None:
        asked.append(wanted)
        return None

    finder.connect(fetch, asyncio.get_running_loop())
    name = f"{package_for(digest)}.flow"
    with installed(finder):
        for _ in range(3):
            with pytest.raises(ModuleNotFoundError):
                await asyncio.to_thread(importlib.import_module, name)
        assert len(asked) == 1
        now[0] += pack_code.MISSING_SECONDS + 1
        with pytest.raises(ModuleNotFoundError):
            await asyncio.to_thread(importlib.import_module, name)
        assert len(asked) == 2


async def test_a_failing_fetch_is_unavailable_so_the_task_is_retried(
    finder: PackCodeFinder,
) -> None:
    async def fetch(wanted: str) -> dict[str, str] | None:
        raise ConnectionError("database down")

    finder.connect(fetch, asyncio.get_running_loop())

    with pytest.raises(PackCodeUnavailable, match="could not be fetched: database down"):
        await asyncio.to_thread(importlib.import_module, f"{package_for(new_digest())}.flow")


async def test_a_slow_fetch_gives_up_before_the_deadlock_detector_and_is_cancelled(
    finder: PackCodeFinder,
) -> None:
    cancelled = asyncio.Event()

    async def fetch(wanted: str) -> dict[str, str] | None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return None

    finder.connect(fetch, asyncio.get_running_loop())
    started = asyncio.get_running_loop().time()

    with pytest.raises(PackCodeUnavailable, match=f"within {pack_code.FETCH_SECONDS} s"):
        await asyncio.to_thread(importlib.import_module, f"{package_for(new_digest())}.flow")

    assert asyncio.get_running_loop().time() - started < 2.0
    await asyncio.wait_for(cancelled.wait(), timeout=1)


async def test_a_fetch_from_the_event_loop_itself_is_refused_not_deadlocked(
    finder: PackCodeFinder,
) -> None:
    async def fetch(wanted: str) -> dict[str, str] | None:
        return {"flow.py": ""}

    finder.connect(fetch, asyncio.get_running_loop())

    with pytest.raises(PackCodeUnavailable, match="from the event loop"):
        importlib.import_module(f"{package_for(new_digest())}.flow")
