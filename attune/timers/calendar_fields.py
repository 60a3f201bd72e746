"""Cron-style fields (`*/5`, `1-5`, `mon-fri`, `1,15`) as Temporal calendar ranges.

One parser for both ways a rule gives a cron timer: a five-field expression (Vixie
cron: day of week 0 or 7 is Sunday) and StackStorm's field form (APScheduler: day of
week 0 is Monday). Every field is expanded into the set of values it allows, then
written as the fewest ranges, so a wrap-around such as `sat-sun` comes out right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from temporalio.client import ScheduleRange


class FieldError(ValueError):
    """A field that is not a cron field; the message says what is wrong with it."""


@dataclass(frozen=True)
class FieldKind:
    """The values one field may hold, and the names that stand for some of them."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    first_named: int = 0


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Temporal numbers days of the week from Sunday, as Vixie cron does.
DAYS_FROM_SUNDAY = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
DAYS_FROM_MONDAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

SECOND = FieldKind("second", 0, 59)
MINUTE = FieldKind("minute", 0, 59)
HOUR = FieldKind("hour", 0, 23)
DAY = FieldKind("day", 1, 31)
MONTH = FieldKind("month", 1, 12, MONTHS, first_named=1)
YEAR = FieldKind("year", 1970, 2199)
# Vixie cron: 0 and 7 are Sunday. StackStorm (APScheduler): 0 is Monday, 6 Sunday.
CRON_DAY_OF_WEEK = FieldKind("day_of_week", 0, 7, DAYS_FROM_SUNDAY)
ST2_DAY_OF_WEEK = FieldKind("day_of_week", 0, 6, DAYS_FROM_MONDAY)


def field_values(kind: FieldKind, value: str | int) -> set[int]:
    """The values `value` allows, within the field's bounds; `FieldError` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise FieldError(f"{kind.name} must be a number or a cron field like '*/5'")
    text = str(value).strip().lower()
    if not text:
        raise FieldError(f"{kind.name} is empty")
    allowed: set[int] = set()
    for item in text.split(","):
        allowed |= _item_values(kind, item.strip())
    return allowed


def _item_values(kind: FieldKind, item: str) -> set[int]:
    span, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) < 1:
            raise FieldError(f"{kind.name}: {item!r} needs a positive step after '/'")
        step = int(step_text)
    if span == "*":
        low, high = kind.low, kind.high
    elif "-" in span:
        first, _, last = span.partition("-")
        low, high = _number(kind, first), _number(kind, last)
        if high < low:
            raise FieldError(f"{kind.name}: {item!r} ends before it starts")
    else:
        low = _number(kind, span)
        high = kind.high if slash else low  # `5/10`: from 5, every 10
    return set(range(low, high + 1, step))


def _number(kind: FieldKind, text: str) -> int:
    if text in kind.names:
        return kind.names.index(text) + kind.first_named
    if not text.isdigit():
        named = f" or a name ({', '.join(kind.names)})" if kind.names else ""
        raise FieldError(f"{kind.name}: {text!r} is not a number{named}")
    number = int(text)
    if not kind.low <= number <= kind.high:
        raise FieldError(f"{kind.name}: {number} is outside {kind.low}-{kind.high}")
    return number


def as_ranges(values: Iterable[int]) -> tuple[ScheduleRange, ...]:
    """The fewest contiguous ranges that hold exactly `values`."""
    ranges: list[ScheduleRange] = []
    for value in sorted(set(values)):
        if ranges and ranges[-1].end == value - 1:
            ranges[-1] = ScheduleRange(ranges[-1].start, value)
        else:
            ranges.append(ScheduleRange(value, value))
    return tuple(ranges)


def days_from_sunday(values: Iterable[int], kind: FieldKind) -> set[int]:
    """Days of the week in `kind`'s numbering, as Temporal numbers them (0 is Sunday)."""
    if kind is ST2_DAY_OF_WEEK:
        return {(value + 1) % 7 for value in values}
    return {value % 7 for value in values}
