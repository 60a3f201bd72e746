"""The short memory of valid tokens: it forgets after its ttl, on a clear, while suspended,
and never grows unbounded."""

from __future__ import annotations

import time

import pytest

from attune.auth import recent_tokens
from attune.auth.permissions import Permissions
from attune.auth.recent_tokens import RecentTokens, Trusted
from db.models import Identity


def trusted(login: str) -> Trusted:
    return Trusted(Identity(login=login), Permissions())


def test_a_remembered_token_is_known_until_its_ttl_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    cache = RecentTokens(ttl=5)
    someone = trusted("someone")

    cache.remember("hash", someone, generation=cache.generation)

    assert cache.get("hash") is someone
    clock[0] += 4.9
    assert cache.get("hash") is someone
    clock[0] += 0.2
    assert cache.get("hash") is None
    assert cache.get("other") is None


def test_a_zero_ttl_remembers_nothing() -> None:
    cache = RecentTokens(ttl=0)

    cache.remember("hash", trusted("x"), generation=cache.generation)

    assert cache.get("hash") is None


def test_the_oldest_entries_go_first_beyond_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recent_tokens, "MAX_ENTRIES", 2)
    cache = RecentTokens(ttl=60)
    for name in ("a", "b", "c"):
        cache.remember(name, trusted(name), generation=cache.generation)

    assert cache.get("a") is None
    assert cache.get("b") is not None
    assert cache.get("c") is not None


def test_a_clear_forgets_everything_and_refuses_lookups_begun_before_it() -> None:
    cache = RecentTokens(ttl=60)
    cache.remember("a", trusted("a"), generation=cache.generation)
    begun = cache.generation

    cache.clear()
    cache.remember("b", trusted("b"), generation=begun)

    assert cache.get("a") is None
    assert cache.get("b") is None


def test_a_suspended_cache_trusts_nothing_until_resumed() -> None:
    cache = RecentTokens(ttl=60)
    cache.remember("a", trusted("a"), generation=cache.generation)

    cache.suspend()
    cache.remember("b", trusted("b"), generation=cache.generation)
    suspended = (cache.get("a"), cache.get("b"))
    cache.resume()
    cache.remember("c", trusted("c"), generation=cache.generation)

    assert suspended == (None, None)
    assert cache.get("c") is not None
