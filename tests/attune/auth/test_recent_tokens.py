"""The short memory of valid tokens: it forgets after its ttl and never grows unbounded."""

from __future__ import annotations

import time

import pytest

from attune.auth import recent_tokens
from attune.auth.recent_tokens import RecentTokens
from db.models import Identity


def test_a_remembered_token_is_known_until_its_ttl_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    cache = RecentTokens(ttl=5)
    someone = Identity(login="someone")

    cache.remember("hash", someone)

    assert cache.get("hash") is someone
    clock[0] += 4.9
    assert cache.get("hash") is someone
    clock[0] += 0.2
    assert cache.get("hash") is None
    assert cache.get("other") is None


def test_a_zero_ttl_remembers_nothing() -> None:
    cache = RecentTokens(ttl=0)

    cache.remember("hash", Identity(login="x"))

    assert cache.get("hash") is None


def test_the_oldest_entries_go_first_beyond_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recent_tokens, "MAX_ENTRIES", 2)
    cache = RecentTokens(ttl=60)
    for name in ("a", "b", "c"):
        cache.remember(name, Identity(login=name))

    assert cache.get("a") is None
    assert cache.get("b") is not None
    assert cache.get("c") is not None
