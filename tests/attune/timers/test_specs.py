"""Timer rules' trigger parameters as Temporal Schedule specs: what each form means."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import ScheduleRange

from attune.timers.calendar_fields import as_ranges
from attune.timers.specs import TimerError, timer_spec


def values(ranges: Sequence[ScheduleRange]) -> set[int]:
    """The values a sequence of ranges holds."""
    found: set[int] = set()
    for item in ranges:
        found |= set(range(item.start, max(item.end, item.start) + 1, item.step or 1))
    return found


def test_an_interval_is_its_delta_in_its_unit() -> None:
    spec = timer_spec("core.interval", {"unit": "minutes", "delta": 5}).spec
    assert [interval.every for interval in spec.intervals] == [timedelta(minutes=5)]


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"unit": "fortnights", "delta": 1}, "unit"),
        ({"unit": "seconds", "delta": 0}, "delta"),
        ({"unit": "seconds", "delta": True}, "delta"),
    ],
)
def test_a_bad_interval_names_its_field(parameters: dict[str, Any], field: str) -> None:
    with pytest.raises(TimerError) as raised:
        timer_spec("core.interval", parameters)
    assert raised.value.field == field


def test_a_cron_expression_becomes_a_calendar_in_its_time_zone() -> None:
    spec = timer_spec(
        "core.cron", {"expression": "*/15 9-17 * * mon-fri", "timezone": "Europe/Berlin"}
    ).spec
    [calendar] = spec.calendars
    assert spec.time_zone_name == "Europe/Berlin"
    assert values(calendar.second) == {0}
    assert values(calendar.minute) == {0, 15, 30, 45}
    assert values(calendar.hour) == set(range(9, 18))
    assert values(calendar.day_of_week) == {1, 2, 3, 4, 5}  # Temporal: 0 is Sunday
    assert values(calendar.day_of_month) == set(range(1, 32))


def test_cron_sunday_is_0_or_7_and_macros_are_understood() -> None:
    [sunday] = timer_spec("core.cron", {"expression": "0 3 * * 7"}).spec.calendars
    assert values(sunday.day_of_week) == {0}
    [hourly] = timer_spec("core.cron", {"expression": "@hourly"}).spec.calendars
    assert values(hourly.minute) == {0}
    assert values(hourly.hour) == set(range(24))


def test_stackstorm_fields_count_days_from_monday_and_default_finer_fields_to_zero() -> None:
    [calendar] = timer_spec("core.cron", {"day_of_week": "5-6", "hour": 10}).spec.calendars
    assert values(calendar.day_of_week) == {6, 0}  # StackStorm's 5-6 is Saturday and Sunday
    assert values(calendar.hour) == {10}
    assert values(calendar.minute) == {0}  # finer than the finest field given: its lowest
    assert values(calendar.second) == {0}
    assert values(calendar.month) == set(range(1, 13))  # coarser: every value


def test_stackstorm_day_of_week_0_is_monday() -> None:
    [calendar] = timer_spec("core.cron", {"day_of_week": 0, "minute": "*/30"}).spec.calendars
    assert values(calendar.day_of_week) == {1}
    assert values(calendar.minute) == {0, 30}
    assert values(calendar.hour) == set(range(24))


@pytest.mark.parametrize(
    ("parameters", "field", "words"),
    [
        ({"expression": "*/5 * *"}, "expression", "five fields"),
        ({"expression": "61 * * * *"}, "expression", "outside 0-59"),
        ({"expression": "* * * * fun"}, "expression", "not a number"),
        ({"expression": "5-1 * * * *"}, "expression", "ends before it starts"),
        ({"expression": "*/0 * * * *"}, "expression", "positive step"),
        ({"expression": "* * * * *", "timezone": "Mars/Olympus"}, "timezone", "time zone"),
        ({"expression": "* * * * *", "hour": 3}, "hour", "not both"),
        ({"week": 3, "hour": 1}, "week", "week numbers"),
        ({"hour": "25"}, "hour", "outside 0-23"),
        ({}, "expression", "required"),
    ],
)
def test_a_bad_cron_timer_names_its_field(
    parameters: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(TimerError) as raised:
        timer_spec("core.cron", parameters)
    assert raised.value.field == field
    assert words in raised.value.message


def test_a_date_fires_once_at_that_moment_in_its_time_zone() -> None:
    timer = timer_spec("core.date", {"date": "2027-01-31T09:00:00", "timezone": "Europe/Berlin"})
    assert timer.once
    [calendar] = timer.spec.calendars
    # 09:00 in Berlin in winter is 08:00 UTC.
    assert (values(calendar.year), values(calendar.month), values(calendar.day_of_month)) == (
        {2027},
        {1},
        {31},
    )
    assert (values(calendar.hour), values(calendar.minute), values(calendar.second)) == (
        {8},
        {0},
        {0},
    )
    at = datetime(2027, 1, 31, 8, tzinfo=UTC)
    assert timer.spec.start_at is not None
    assert timer.spec.start_at < at
    assert timer.spec.end_at is not None
    assert timer.spec.end_at > at


def test_a_date_with_an_offset_ignores_the_time_zone_and_a_bad_date_is_named() -> None:
    [calendar] = timer_spec("core.date", {"date": "2027-06-01T12:00:00+02:00"}).spec.calendars
    assert values(calendar.hour) == {10}
    with pytest.raises(TimerError) as raised:
        timer_spec("core.date", {"date": "next tuesday"})
    assert raised.value.field == "date"


def test_ranges_are_the_fewest_that_hold_the_values() -> None:
    assert as_ranges({1, 2, 3, 7, 9, 10}) == (
        ScheduleRange(1, 3),
        ScheduleRange(7, 7),
        ScheduleRange(9, 10),
    )


def test_cron_fires_when_either_day_field_matches_as_vixie_cron_does() -> None:
    first, monday = timer_spec("core.cron", {"expression": "0 0 1 * mon"}).spec.calendars
    # Every 1st of the month, whatever the weekday; and every Monday, whatever the date.
    assert (values(first.day_of_month), values(first.day_of_week)) == ({1}, set(range(7)))
    assert (values(monday.day_of_month), values(monday.day_of_week)) == (set(range(1, 32)), {1})
    # With either field `*`, the other alone decides: one calendar.
    [only] = timer_spec("core.cron", {"expression": "0 0 */2 * *"}).spec.calendars
    assert values(only.day_of_month) == set(range(1, 32, 2))


def test_an_interval_counts_from_its_rules_creation_not_from_the_epoch() -> None:
    made = datetime(2026, 12, 1, 10, 17, 5, tzinfo=UTC)  # a Tuesday
    [interval] = timer_spec(
        "core.interval", {"unit": "weeks", "delta": 1}, anchor=made
    ).spec.intervals
    assert interval.offset is not None
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    firing = epoch + interval.offset + timedelta(weeks=2914)  # some later firing
    assert (firing - made) % timedelta(weeks=1) == timedelta(0)


@pytest.mark.parametrize(
    ("trigger", "parameters", "field"),
    [
        ("core.cron", {"week": "*"}, "week"),
        ("core.date", {"date": "9999-12-31T23:00", "timezone": "America/Los_Angeles"}, "date"),
        ("core.date", {"date": "0001-01-01T00:00"}, "date"),
    ],
)
def test_edge_values_are_refused_by_field_not_by_crashing(
    trigger: str, parameters: dict[str, Any], field: str
) -> None:
    with pytest.raises(TimerError) as raised:
        timer_spec(trigger, parameters)
    assert raised.value.field == field
