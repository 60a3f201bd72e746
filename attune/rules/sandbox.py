"""The Jinja sandbox rule templates render in: immutable, and bounded in the work it does.

Jinja's sandbox keeps a template away from Python's internals, but not from making work:
`{{ 'a' * trigger.n }}` with a 30-byte payload made a 100 MB parameter. The event's
payload is the attacker's, the template is the pack author's; the bounds below stop a
template from turning a small payload into unbounded memory or time, each with a message
that names the limit (`TemplateLimitExceeded`):

- repetition (`*`), powers (`**`) and %-formatting of text are checked before they run;
- the filters and text methods that pad, repeat or join (`center`, `indent`, `batch`,
  `format`, `replace`, `join`, `str.format`, ...) are checked before they run;
- `range` hands out at most `MAX_RANGE_ITEMS` items per render, all calls together;
- a render lasts at most `MAX_RENDER_SECONDS`: every loop's pass, attribute, item, call
  and operator looks at the clock;
- the output of a template is cut off at `MAX_RENDERED_CHARS`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, nodes, pass_eval_context
from jinja2.filters import do_format as _format_filter
from jinja2.filters import sync_do_join as _join_filter
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_RENDERED_CHARS = 1_048_576
"""The longest text one template (or one computed value) may produce."""
MAX_RANGE_ITEMS = 10_000
"""How many numbers `range` may hand out in one render, all calls together."""
MAX_RENDER_SECONDS = 2.0
"""How long rendering one rule's parameters may take."""
MAX_POWER_BITS = 65_536
"""The largest integer `**` may make, in bits."""

# Arguments that size an allocation, by filter: `center(width)`, `batch(linecount)`, ...
_SIZING_FILTERS = {
    "center": 1,
    "indent": 1,
    "wordwrap": 1,
    "truncate": 1,
    "batch": 1,
    "slice": 1,
}
# The global every loop's iterable goes through (see `BoundedSandbox._parse`).
_ITERATE = "_attune_checked_iteration"
_SIZING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
# %-formatting and format specs: a width or precision is a run of digits.
_FORMAT_NUMBERS = re.compile(r"\d+")


class TemplateLimitExceeded(Exception):
    """A template tried to do more work than rendering allows; the message says which limit."""


@dataclass
class _Budget:
    deadline: float
    range_items_left: int


_budget: ContextVar[_Budget | None] = ContextVar("attune_render_budget", default=None)


@contextmanager
def render_budget() -> Iterator[None]:
    """Bound the renders inside the block together: one deadline, one range allowance."""
    token = _budget.set(_Budget(time.monotonic() + MAX_RENDER_SECONDS, MAX_RANGE_ITEMS))
    try:
        yield
    finally:
        _budget.reset(token)


def _tick() -> _Budget | None:
    budget = _budget.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise TemplateLimitExceeded(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")
    return budget


def _check_size(size: int, what: str) -> None:
    if size > MAX_RENDERED_CHARS:
        raise TemplateLimitExceeded(
            f"{what} would make {size} characters, more than the {MAX_RENDERED_CHARS} allowed"
        )


def _check_format_numbers(text: str, what: str) -> None:
    for number in _FORMAT_NUMBERS.findall(text):
        if len(number) > 7:
            _check_size(MAX_RENDERED_CHARS + 1, what)
        _check_size(int(number), what)


def _check_int_arguments(values: tuple[Any, ...], what: str) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            _check_size(abs(value), what)


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    budget = _tick()
    if budget is not None:
        if len(numbers) > budget.range_items_left:
            raise TemplateLimitExceeded(
                f"range() would hand out more than {MAX_RANGE_ITEMS} numbers in one render"
            )
        budget.range_items_left -= len(numbers)
    return numbers


def _sized(name: str, function: Callable[..., Any], position: int) -> Callable[..., Any]:
    """`function` (a filter), refusing a sizing argument above the output limit."""

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        # Filters get (value, arg1, ...); context or environment filters get one more first.
        _check_int_arguments((*args[position:], *kwargs.values()), f"the filter {name}")
        return function(*args, **kwargs)

    bounded.__dict__.update(function.__dict__)  # keeps jinja's pass_context marks
    return bounded


def _check_percent_format(text: str, values: Any) -> None:
    """`text % values`: widths written in the text, or taken from values by `*`, are bounded."""
    _check_format_numbers(text, "'%' formatting")
    if "*" in text:
        _check_int_arguments(values if isinstance(values, tuple) else (values,), "'%' formatting")


def _bounded_format(value: Any, *args: Any, **kwargs: Any) -> Any:
    """The `format` filter is %-formatting: bounded like the operator."""
    _tick()
    _check_percent_format(str(value), kwargs or args)
    return _format_filter(value, *args, **kwargs)


def _checked_iteration(items: Any) -> Iterator[Any]:
    """Every `{% for %}` loops through this: each pass looks at the clock, so no loop, however
    empty its body, outlasts the render's deadline."""
    for item in items:
        _tick()
        yield item


@pass_eval_context
def _bounded_join(
    eval_context: EvalContext, value: Any, d: str = "", attribute: str | int | None = None
) -> str:
    """`join`, refused before it runs when the text it would make passes the limit."""
    _tick()
    items = list(value)
    size = len(str(d)) * max(len(items) - 1, 0)
    for item in items:
        size += len(str(item if attribute is None else getattr(item, str(attribute), item)))
        _check_size(size, "the filter join")
    joined: str = _join_filter(eval_context, items, d, attribute)
    return joined


def _bounded_replace(value: Any, old: str, new: str, count: int | None = None, *rest: Any) -> Any:
    text = str(value)
    occurrences = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        occurrences = min(occurrences, count)
    _check_size(len(text) + occurrences * len(new), "the filter replace")
    return text.replace(old, new, -1 if count is None else count)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """An immutable sandbox whose operators, filters, calls and ranges stay within bounds."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, **options)
        self.globals["range"] = _bounded_range
        for name, position in _SIZING_FILTERS.items():
            original = self.filters[name]
            # Environment- or context-taking filters get that first: shift by one.
            shift = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0
            self.filters[name] = _sized(name, original, position + shift)
        self.filters["replace"] = _bounded_replace
        self.filters["format"] = _bounded_format
        self.filters["join"] = _bounded_join
        self.globals[_ITERATE] = _checked_iteration

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """The template's syntax tree, each loop's iterable wrapped in `_checked_iteration`."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name(_ITERATE, "load"), [loop.iter], [], None, None)
        return tree

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    _check_size(len(sequence) * max(times, 0), "'*'")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                bits = max(abs(left).bit_length(), 1) * right
                if bits > MAX_POWER_BITS:
                    raise TemplateLimitExceeded(
                        f"'**' would make a number of about {bits} bits, more than the "
                        f"{MAX_POWER_BITS} allowed"
                    )
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left, right)
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def call(
        __self,  # Jinja's own signature: `self` may then be a keyword argument
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        _tick()
        name = getattr(__obj, "__name__", "")
        if isinstance(getattr(__obj, "__self__", None), str) and name in _SIZING_METHODS:
            _check_int_arguments((*args, *kwargs.values()), f"str.{name}")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` and `format_map`: widths in the format, and the result, are bounded."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        sandboxed: Callable[..., str] = wrapped
        text = str(value.__self__)

        def bounded(*args: Any, **kwargs: Any) -> str:
            _check_format_numbers(text, "str.format")
            _check_int_arguments((*args, *kwargs.values()), "str.format")
            result = sandboxed(*args, **kwargs)
            _check_size(len(result), "str.format")
            return result

        return bounded


def render_text(template: Any, context: dict[str, Any]) -> str:
    """Render a compiled template, stopping as soon as its output passes the limit."""
    pieces: list[str] = []
    size = 0
    for piece in template.generate(**context):
        size += len(piece)
        _check_size(size, "the template")
        pieces.append(piece)
    return "".join(pieces)
