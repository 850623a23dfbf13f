"""Cron expressions as the console accepts them: five fields (minute, hour, day of month,
month, day of week), in UTC, or one of the @ macros. Checked here before Temporal sees
them, so a typo is a field error (400), not a refusal from Temporal's server.

Temporal compiles a cron string into a calendar spec, and a schedule's description gives
back only the calendar. `calendar_values` expands either side into the set of values each
field matches, which is how `manage.py sync_schedules` tells whether Temporal's schedule
still says what the console's row says. Django-free.
"""

import re
from collections.abc import Iterable

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# name, lowest, highest, names for values (from the lowest)
FIELDS = [
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),  # 7 is Sunday too
]
_ITEM = re.compile(r"(?P<range>\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[0-9]+))?")


class CronError(ValueError):
    pass


def _value(text: str, low: int, high: int, names: list[str], field: str) -> int:
    if text.isascii() and text.isdigit() and len(text) <= 2:
        number = int(text)
    elif text.upper() in names:
        number = names.index(text.upper()) + low
    else:
        raise CronError(f"{field}: {text!r} is not a value from {low} to {high}.")
    if not low <= number <= high:
        raise CronError(f"{field}: {number} is out of range ({low}-{high}).")
    return number


def _field_values(text: str, low: int, high: int, names: list[str], field: str) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.fullmatch(item)
        if not match:
            raise CronError(f"{field}: {item!r} is not a value, range or step.")
        part, step_text = match["range"], match["step"]
        step = 1
        if step_text is not None:
            step = int(step_text[:3]) if len(step_text) <= 3 else 0
            if not 1 <= step <= high:
                raise CronError(f"{field}: the step {step_text} is out of range (1-{high}).")
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start = _value(first, low, high, names, field)
            end = _value(last, low, high, names, field)
            if end < start:
                raise CronError(f"{field}: the range {part} runs backwards.")
        else:
            start = _value(part, low, high, names, field)
            end = high if step_text is not None else start
        values.update(range(start, end + 1, step))
    return values


def cron_fields(expression: str) -> tuple[set[int], ...]:
    """The values each of the five fields matches (day of week 0-6, Sunday 0). Raises
    CronError saying what is wrong."""
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text.lower() not in MACROS:
            raise CronError(
                f"{text} is not one of {', '.join(MACROS)} (use interval_seconds for @every)."
            )
        text = MACROS[text.lower()]
    parts = text.split(" ")
    if len(parts) != 5:
        raise CronError(
            "Five fields are needed (minute hour day-of-month month day-of-week), in UTC; "
            f"this has {len(parts) if text else 0}."
        )
    values = tuple(
        _field_values(part, low, high, names, name)
        for part, (name, low, high, names) in zip(parts, FIELDS, strict=True)
    )
    days_of_week = {0 if day == 7 else day for day in values[4]}
    return (*values[:4], days_of_week)


def validate_cron(expression: str) -> str:
    """The expression, tidied (single spaces); CronError when it isn't one."""
    cron_fields(expression)
    return " ".join(expression.split())


def calendar_values(
    second: Iterable,
    minute: Iterable,
    hour: Iterable,
    day_of_month: Iterable,
    month: Iterable,
    day_of_week: Iterable,
    year: Iterable,
) -> tuple[frozenset[int] | None, ...]:
    """A Temporal calendar spec's fields (sequences of ScheduleRange) as the sets of values
    they match; an empty year is every year (None)."""

    def expand(ranges: Iterable) -> frozenset[int]:
        found: set[int] = set()
        for item in ranges:
            found.update(range(item.start, max(item.end, item.start) + 1, item.step or 1))
        return frozenset(found)

    years = expand(year)
    return (
        expand(second),
        expand(minute),
        expand(hour),
        expand(day_of_month),
        expand(month),
        frozenset(0 if day == 7 else day for day in expand(day_of_week)),
        years or None,
    )


def cron_calendar_values(expression: str) -> tuple[frozenset[int] | None, ...]:
    """What `calendar_values` gives for the calendar Temporal compiles `expression` into
    (second 0, every year)."""
    minute, hour, day_of_month, month, day_of_week = cron_fields(expression)
    return (
        frozenset({0}),
        frozenset(minute),
        frozenset(hour),
        frozenset(day_of_month),
        frozenset(month),
        frozenset(day_of_week),
        None,
    )
