"""Cron expressions, Go durations and time zones as the Argo Events controller parses them.

Argo Events uses robfig/cron's standard parser (5 fields: minute hour day-of-month month
day-of-week) and Go's ``time.ParseDuration``. A 6-field expression (with seconds) is rejected by
the controller at runtime, long after ``kubectl apply`` said yes; these checks say no first.
"""
from __future__ import annotations

import re
import zoneinfo

from ..argo.gotime import parse_duration

# (name, lowest, highest, names usable instead of numbers)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: number for number, name in enumerate(_MONTHS, start=1)}),
    ("day of week", 0, 6, {name: number for number, name in enumerate(_DAYS)}),
)
_RANGE = re.compile(r"^(?P<start>\*|\?|[0-9A-Za-z]+)(?:-(?P<end>[0-9A-Za-z]+))?"
                    r"(?:/(?P<step>\d+))?$")


def _value(text: str, low: int, high: int, names: dict[str, int]) -> int | None:
    number = names.get(text.upper()) if not text.isdigit() else int(text)
    return number if number is not None and low <= number <= high else None


def _field_problem(text: str, name: str, low: int, high: int, names: dict[str, int]) -> str | None:
    for item in text.split(","):
        match = _RANGE.match(item)
        if not match:
            return f"{name} field {item!r} is not a value, range or step"
        start, end, step = match["start"], match["end"], match["step"]
        if start in ("*", "?"):
            if end is not None:
                return f"{name} field {item!r}: a range cannot start at {start}"
            if start == "?" and name not in ("day of month", "day of week"):
                return f"{name} field: '?' is only allowed for day of month or day of week"
        else:
            first = _value(start, low, high, names)
            if first is None:
                return f"{name} field {item!r}: {start} is outside {low}-{high}"
            if end is not None:
                last = _value(end, low, high, names)
                if last is None:
                    return f"{name} field {item!r}: {end} is outside {low}-{high}"
                if last < first:
                    return f"{name} field {item!r}: range ends before it starts"
        if step is not None and int(step) == 0:
            return f"{name} field {item!r}: step must be at least 1"
    return None


def cron_problem(expression: str) -> str | None:
    """Why a cron expression would be rejected, or None when it is a valid 5-field expression.

    >>> cron_problem("*/5 * * * *") is None
    True
    >>> cron_problem("0 */5 * * * *")
    'must have 5 fields (minute hour day-of-month month day-of-week), found 6'
    """
    fields = expression.split()
    if len(fields) != len(CRON_FIELDS):
        return ("must have 5 fields (minute hour day-of-month month day-of-week), "
                f"found {len(fields)}")
    for text, (name, low, high, names) in zip(fields, CRON_FIELDS):
        problem = _field_problem(text, name, low, high, names)
        if problem:
            return problem
    return None


def is_go_duration(text: str) -> bool:
    """True for what Go's ``time.ParseDuration`` accepts (``30s``, ``1m30s``, ``0``): the very
    parser the local runner uses, so the validator and the runner never disagree."""
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


def timezone_problem(name: str) -> str | None:
    """Why a time zone name would not load, or None. Needs the system's tz database."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not a known IANA time zone"
    return None
