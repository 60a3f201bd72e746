"""A small payload cannot make a template do unbounded work: each limit names itself."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from attune import errors
from attune.rules import sandbox
from attune.rules.templating import (
    MAX_RENDERED_PARAMETERS_BYTES,
    render_parameters,
    render_parameters_off_loop,
)


def _refusal(template: str, trigger: dict[str, Any]) -> str:
    started = time.monotonic()
    with pytest.raises(errors.ValidationError) as refused:
        render_parameters({"value": template}, {"trigger": trigger})
    assert time.monotonic() - started < sandbox.MAX_RENDER_SECONDS + 1
    assert refused.value.details == {"field": "value"}
    return refused.value.message


@pytest.mark.parametrize(
    ("template", "trigger", "limit"),
    [
        # The finding: a 30-byte payload asked for a 100 MB parameter.
        ("{{ 'a' * trigger.n }}", {"n": 100_000_000}, "more than the 1048576 allowed"),
        ("x{{ 'a' * trigger.n }}", {"n": 100_000_000}, "more than the 1048576 allowed"),
        ("{{ trigger.n * [1, 2] }}", {"n": 10**9}, "'*'"),
        ("{{ 10 ** trigger.n }}", {"n": 10**8}, "'**'"),
        ("{{ ('%' ~ trigger.n ~ 's') % 'x' }}", {"n": 10**9}, "'%' formatting"),
        ("{{ '%*s' % (trigger.n, 'x') }}", {"n": 10**9}, "'%' formatting"),
        ("{{ '%9999999999s' | format('x') }}", {}, "'%' formatting"),
        ("{{ '{:>9999999999}'.format('x') }}", {}, "str.format"),
        ("{{ '{:>{w}}'.format('x', w=trigger.n) }}", {"n": 10**9}, "str.format"),
        ("{{ 'x' | center(trigger.n) }}", {"n": 10**9}, "the filter center"),
        ("{{ 'x'.center(trigger.n) }}", {"n": 10**9}, "str.center"),
        ("{{ 'x'.zfill(trigger.n) }}", {"n": 10**9}, "str.zfill"),
        ("{{ 'x' | indent(trigger.n, true) }}", {"n": 10**9}, "the filter indent"),
        ("{{ [1] | batch(trigger.n, 0) | list }}", {"n": 10**9}, "the filter batch"),
        ("{{ [1] | slice(trigger.n) | list }}", {"n": 10**9}, "the filter slice"),
        ("{{ trigger.s | replace('a', trigger.s) }}", {"s": "a" * 100_000}, "filter replace"),
        ("{% for i in range(trigger.n) %}{% endfor %}", {"n": 10**6}, "range()"),
        (
            "{% for i in range(9000) %}{% endfor %}{% for i in range(9000) %}{% endfor %}",
            {},
            "range()",
        ),
        ("{% for i in range(9000) %}{{ trigger.s }}{% endfor %}", {"s": "a" * 1000}, "template"),
        # 60 KB of payload joined by itself: 400 MB, refused before it is built.
        ("{{ trigger.l | join(trigger.s) }}", {"l": list(range(7000)), "s": "x" * 60_000}, "join"),
    ],
)
def test_each_limit_refuses_the_template_naming_itself(
    template: str, trigger: dict[str, Any], limit: str
) -> None:
    assert limit in _refusal(template, trigger)


@pytest.mark.parametrize(
    "template",
    [
        # Each pass reads an attribute.
        "{% for a in trigger.l %}{% for b in trigger.l %}"
        "{{ trigger.x if a == b else '' }}{% endfor %}{% endfor %}",
        # Nothing in the body at all: only the loop itself can look at the clock.
        "{% set l = trigger.l %}{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}",
        "{% set l = trigger.l %}{% for a in l %}{% for b in l %}"
        "{% if a == b %}x{% endif %}{% endfor %}{% endfor %}",
    ],
)
def test_a_slow_loop_stops_at_the_render_deadline(
    monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    monkeypatch.setattr(sandbox, "MAX_RENDER_SECONDS", 0.2)

    message = _refusal(template, {"l": list(range(20_000)), "x": ""})

    assert "rendering took longer than 0.2 s" in message


def test_parameters_that_render_too_large_in_total_are_refused() -> None:
    chunk = "x" * (MAX_RENDERED_PARAMETERS_BYTES // 4)
    many = {f"p{index}": "{{ trigger.chunk }}" for index in range(5)}

    with pytest.raises(errors.ValidationError) as refused:
        render_parameters(many, {"trigger": {"chunk": chunk}})

    assert "more than the 1048576 allowed" in refused.value.message
    assert refused.value.details == {"field": "parameters"}


def test_a_template_cannot_build_a_value_too_deep_to_store() -> None:
    with pytest.raises(errors.ValidationError) as refused:
        render_parameters({"value": "{{ trigger.deep }}"}, {"trigger": {"deep": _nested(70)}})

    assert "nested deeper than 64 levels" in refused.value.message


def test_ordinary_templates_render_as_before() -> None:
    rendered = render_parameters(
        {
            "a": "{{ 'ab' * 3 }}",
            "b": "{{ 2 ** 10 }}",
            "c": "{{ '%05d' % trigger.n }}",
            "d": "{% for i in range(3) %}{{ i }}{% endfor %}",
            "e": "{{ 'x' | center(5) }}",
            "f": "{{ '{:>4}'.format(trigger.n) }}",
        },
        {"trigger": {"n": 42}},
    )

    assert rendered == {
        "a": "ababab",
        "b": 1024,
        "c": "00042",
        "d": "012",
        "e": "  x  ",
        "f": "  42",
    }


async def test_rendering_off_the_loop_leaves_the_loop_free() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    running = asyncio.create_task(ticker())
    template = "{% for a in range(3000) %}{% for b in trigger.hosts %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    try:
        rendered = await render_parameters_off_loop(
            {"value": template}, {"trigger": {"hosts": list(range(3000))}}
        )
    finally:
        running.cancel()
    took = time.monotonic() - started
    assert rendered == {"value": ""}
    # The render kept a thread busy for a while; meanwhile the loop kept ticking.
    assert took > 0.1
    assert ticks >= (took / 0.01) / 4


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"next": value}
    return value
