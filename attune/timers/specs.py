"""A timer rule's trigger parameters as the Temporal Schedule spec that fires it.

    core.interval  {unit: seconds|minutes|hours|days|weeks, delta: N}
    core.cron      {expression: "*/5 * * * *", timezone}   or StackStorm's fields:
                   {timezone, year, month, day, week, day_of_week, hour, minute, second}
    core.date      {date: ISO-8601, timezone}: fires once

The JSON Schemas in `packs/core/triggers/` check the shapes; what they cannot check (a
cron field's syntax, a time zone's name, a date) is checked here, when the pack
registers, so a bad timer is refused with its file and field instead of failing later
in Temporal. StackStorm's fields follow APScheduler: the fields finer than the finest
one given default to their lowest value, the coarser ones to `*`; `week` (ISO week
numbers) has no counterpart in Temporal's calendars and must be `*`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.client import ScheduleCalendarSpec, ScheduleIntervalSpec, ScheduleSpec

from attune.timers import calendar_fields as fields
from attune.timers.calendar_fields import FieldError, FieldKind

INTERVAL = "core.interval"
CRON = "core.cron"
DATE = "core.date"
TIMER_TRIGGERS = frozenset({INTERVAL, CRON, DATE})

UNITS = {
    "seconds": timedelta(seconds=1),
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
    "weeks": timedelta(weeks=1),
}
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
YEAR_RANGE = (fields.YEAR.low, fields.YEAR.high)
# StackStorm's fields from the coarsest to the finest, with the Temporal field each fills.
ST2_FIELDS: tuple[tuple[str, FieldKind], ...] = (
    ("year", fields.YEAR),
    ("month", fields.MONTH),
    ("day", fields.DAY),
    ("day_of_week", fields.ST2_DAY_OF_WEEK),
    ("hour", fields.HOUR),
    ("minute", fields.MINUTE),
    ("second", fields.SECOND),
)


class TimerError(ValueError):
    """Trigger parameters that make no timer: `field` names the parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class TimerSpec:
    """When a timer fires: the schedule's spec, and whether it fires only once."""

    spec: ScheduleSpec
    once: bool = False
    summary: str = ""


def timer_spec(
    trigger_ref: str, parameters: Mapping[str, Any], *, anchor: datetime | None = None
) -> TimerSpec:
    """The spec of a timer rule; `TimerError` naming the parameter when there is none.

    An interval counts from `anchor` (the rule's creation), as StackStorm's does, rather
    than from the Unix epoch, where Temporal counts by itself: a weekly timer then fires
    a week after its rule was made, not on Thursdays.
    """
    if trigger_ref == INTERVAL:
        return _interval(parameters, anchor)
    if trigger_ref == CRON:
        return _cron(parameters)
    if trigger_ref == DATE:
        return _date(parameters)
    known = ", ".join(sorted(TIMER_TRIGGERS))
    raise TimerError("type", f"{trigger_ref!r} is not a timer ({known})")


def _interval(parameters: Mapping[str, Any], anchor: datetime | None) -> TimerSpec:
    unit, delta = parameters.get("unit"), parameters.get("delta")
    if unit not in UNITS:
        raise TimerError("unit", f"must be one of {', '.join(UNITS)}")
    if isinstance(delta, bool) or not isinstance(delta, int) or delta < 1:
        raise TimerError("delta", "must be a whole number of at least 1")
    every = UNITS[unit] * delta
    if every > timedelta(weeks=520):
        raise TimerError("delta", "must be at most ten years")
    offset = None
    if anchor is not None:
        since_epoch = anchor.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
        offset = timedelta(seconds=int(since_epoch.total_seconds()) % int(every.total_seconds()))
    return TimerSpec(
        ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every, offset=offset)]),
        summary=f"every {delta} {unit}",
    )


def _cron(parameters: Mapping[str, Any]) -> TimerSpec:
    zone = _time_zone(parameters)
    expression = parameters.get("expression")
    given = [name for name, _ in ST2_FIELDS if name in parameters] + (
        ["week"] if "week" in parameters else []
    )
    if expression is not None and given:
        raise TimerError(given[0], "give either expression or the separate fields, not both")
    if expression is not None:
        calendars, summary = _expression(expression), str(expression)
    elif given:
        calendars, summary = [_st2_fields(parameters)], _fields_summary(parameters)
    else:
        raise TimerError("expression", "is required (or StackStorm's fields: hour, minute, ...)")
    return TimerSpec(ScheduleSpec(calendars=calendars, time_zone_name=zone), summary=summary)


def _expression(expression: Any) -> list[ScheduleCalendarSpec]:
    """One calendar, or two when both day fields are restricted: cron then fires when
    either matches (`0 0 1 * mon` is every 1st and every Monday), while a Temporal
    calendar needs all of its fields to match."""
    if not isinstance(expression, str):
        raise TimerError("expression", "must be a string like '*/5 * * * *'")
    text = MACROS.get(expression.strip().lower(), expression)
    parts = text.split()
    if len(parts) != 5:
        raise TimerError(
            "expression", "needs five fields: minute hour day-of-month month day-of-week"
        )
    minute, hour, day, month, weekday = parts
    try:
        days = fields.field_values(fields.CRON_DAY_OF_WEEK, weekday)
        both = ScheduleCalendarSpec(
            second=fields.as_ranges({0}),
            minute=fields.as_ranges(fields.field_values(fields.MINUTE, minute)),
            hour=fields.as_ranges(fields.field_values(fields.HOUR, hour)),
            day_of_month=fields.as_ranges(fields.field_values(fields.DAY, day)),
            month=fields.as_ranges(fields.field_values(fields.MONTH, month)),
            day_of_week=fields.as_ranges(fields.days_from_sunday(days, fields.CRON_DAY_OF_WEEK)),
        )
    except FieldError as error:
        raise TimerError("expression", str(error)) from None
    if day.startswith("*") or weekday.startswith("*"):
        return [both]
    every = ScheduleCalendarSpec()  # its day fields allow every day
    return [
        replace(both, day_of_week=every.day_of_week),
        replace(both, day_of_month=every.day_of_month),
    ]


def _st2_fields(parameters: Mapping[str, Any]) -> ScheduleCalendarSpec:
    week = parameters.get("week")
    if week is not None and str(week).strip() != "*":
        raise TimerError("week", "ISO week numbers are not supported; use month and day")
    named = [index for index, (name, _) in enumerate(ST2_FIELDS) if name in parameters]
    if not named:
        raise TimerError("week", "give at least one other field too (hour, minute, ...)")
    finest = max(named)
    values: dict[str, set[int]] = {}
    for index, (name, kind) in enumerate(ST2_FIELDS):
        given = parameters.get(name)
        try:
            if given is not None:
                values[name] = fields.field_values(kind, given)
            elif index > finest and name != "day_of_week":
                values[name] = {kind.low}  # finer than what was given: its lowest value
            else:
                values[name] = set(range(kind.low, kind.high + 1))
        except FieldError as error:
            raise TimerError(name, str(error)) from None
    years = parameters.get("year")
    return ScheduleCalendarSpec(
        second=fields.as_ranges(values["second"]),
        minute=fields.as_ranges(values["minute"]),
        hour=fields.as_ranges(values["hour"]),
        day_of_month=fields.as_ranges(values["day"]),
        month=fields.as_ranges(values["month"]),
        year=fields.as_ranges(values["year"]) if years is not None else (),
        day_of_week=fields.as_ranges(
            fields.days_from_sunday(values["day_of_week"], fields.ST2_DAY_OF_WEEK)
        ),
    )


def _fields_summary(parameters: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={parameters[name]}" for name, _ in ST2_FIELDS if name in parameters)


def _date(parameters: Mapping[str, Any]) -> TimerSpec:
    zone = _time_zone(parameters)
    given = parameters.get("date")
    if not isinstance(given, str):
        raise TimerError("date", "is required: an ISO-8601 date and time, like 2027-01-31T09:00")
    try:
        moment = datetime.fromisoformat(given)
    except ValueError:
        raise TimerError("date", f"{given[:40]!r} is not an ISO-8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone) if zone else UTC)
    try:
        at = moment.astimezone(UTC).replace(microsecond=0)
        start, end = at - timedelta(seconds=1), at + timedelta(seconds=1)
    except OverflowError:
        raise TimerError("date", f"{given[:40]!r} is too far off to schedule") from None
    if not YEAR_RANGE[0] <= at.year <= YEAR_RANGE[1]:
        raise TimerError("date", f"the year must be {YEAR_RANGE[0]} to {YEAR_RANGE[1]}")
    calendar = ScheduleCalendarSpec(
        second=fields.as_ranges({at.second}),
        minute=fields.as_ranges({at.minute}),
        hour=fields.as_ranges({at.hour}),
        day_of_month=fields.as_ranges({at.day}),
        month=fields.as_ranges({at.month}),
        year=fields.as_ranges({at.year}),
    )
    # Bounded on both sides, so the schedule never looks for a next year's same moment.
    spec = ScheduleSpec(calendars=[calendar], start_at=start, end_at=end)
    return TimerSpec(spec, once=True, summary=f"once at {at.isoformat()}")


def _time_zone(parameters: Mapping[str, Any]) -> str | None:
    zone = parameters.get("timezone")
    if zone is None:
        return None
    if not isinstance(zone, str):
        raise TimerError("timezone", "must be a time zone name like Europe/Berlin")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        unknown = f"{zone[:60]!r} is not a known time zone (like Europe/Berlin)"
        raise TimerError("timezone", unknown) from None
    return zone
