"""Finding the keys templates name, and reading them in one query only when some are named."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from attune.keys.addresses import KeyAddress, Scope
from attune.keys.templates import KeyOwners, key_references, mentions_keys, read_keys


@pytest.mark.parametrize(
    ("template", "named"),
    [
        ("{{ keystore.system.token }}", {(Scope.SYSTEM, "token")}),
        ("{{ st2kv.pack['name.with.dots'] }}", {(Scope.PACK, "name.with.dots")}),
        ('{{ keystore["user"]["api_token"] | decrypt_kv }}', {(Scope.USER, "api_token")}),
        # `.host` is a field of the key `db`'s value, not part of its name.
        ("https://{{ keystore.system.db.host }}/", {(Scope.SYSTEM, "db")}),
        (
            ["{{ keystore.system.a }}", {"b": "{{ st2kv.system.b }}"}],
            {(Scope.SYSTEM, "a"), (Scope.SYSTEM, "b")},
        ),
        ("{{ keystore.system[trigger.name] }}", set()),
        ("{{ mykeystore.system.a }}", set()),
        ("no template at all", set()),
    ],
)
def test_the_keys_a_template_names_literally(template: Any, named: set[tuple[Scope, str]]) -> None:
    assert key_references(template) == named


def test_a_mention_without_a_literal_name_is_still_a_mention() -> None:
    assert mentions_keys({"x": ["{{ keystore[trigger.scope].x }}"]})
    assert not mentions_keys({"x": ["{{ trigger.keys }}", 3, None]})


@pytest.fixture
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL of every statement the test's engine runs meanwhile."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_keys_are_read_in_one_query_and_only_when_a_template_mentions_them(
    session: AsyncSession, statements: list[str]
) -> None:
    owners = KeyOwners(pack="ops")
    options: dict[str, Any] = {
        "key_ring": (),
        "secret_parameters": frozenset(),
        "reader": "rule:ops.test",
    }

    none = await read_keys(session, [{"host": "{{ trigger.host }}"}], owners=owners, **options)
    assert none is None
    assert not [sql for sql in statements if "attune.key" in sql]

    texts = [
        {"a": "{{ keystore.system.x }}", "b": "{{ st2kv.pack['y.z'] }} {{ keystore.system.x }}"}
    ]
    read = await read_keys(session, texts, owners=owners, **options)
    assert read is not None
    assert read.named == {KeyAddress(Scope.SYSTEM, "", "x"), KeyAddress(Scope.PACK, "ops", "y.z")}
    assert len([sql for sql in statements if "attune.key" in sql]) == 1
