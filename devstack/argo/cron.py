"""When a calendar EventSource fires: 5-field cron (robfig/cron's standard parser) or an interval.

Argo's calendar source parses ``schedule`` with ``cron.NewParser(Minute|Hour|Dom|Month|Dow)``
and ``interval`` as ``cron.ConstantDelaySchedule`` (``pkg/eventsources/sources/calendar``).
robfig rules reproduced here: fields ``minute hour day-of-month month day-of-week``; items are
``*``/``?``, values, ranges ``a-b``, steps ``/n`` (``a/n`` means ``a-max/n``), lists ``,``; month
and weekday names (JAN, MON); weekdays 0-6. Day-of-month and day-of-week are *or*-ed when both are
restricted and *and*-ed when either is ``*`` or ``?``. The renderer writes ``timezone: "UTC"``
beside a schedule (:mod:`.manifests` refuses any other zone), so it is evaluated in UTC. An interval
fires ``interval`` after the last fire, counted from the whole second.

Pure: every function takes the time to start from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from .gotime import parse_duration

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, lowest, highest, names)
_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
           ("month", 1, 12, {n: i for i, n in enumerate(_MONTHS, 1)}),
           ("day of week", 0, 6, {n: i for i, n in enumerate(_DAYS)}))
_ITEM = re.compile(r"^(?P<start>\*|\?|[0-9A-Za-z]+)(?:-(?P<end>[0-9A-Za-z]+))?(?:/(?P<step>\d+))?$")
SEARCH_YEARS = 5  # robfig gives up after five years without a match


def _number(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    value = int(text) if text.isdigit() else names.get(text.upper())
    if value is None:
        raise ValueError(f"{name}: {text!r} is not a number{' or name' if names else ''}")
    if not low <= value <= high:
        raise ValueError(f"{name}: {value} is outside {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for item in text.split(","):
        m = _ITEM.match(item)
        if not m:
            raise ValueError(f"{name}: {item!r} is not a value, range or step")
        start, end, step = m["start"], m["end"], m["step"]
        step_n = int(step) if step is not None else 1
        if step_n == 0:
            raise ValueError(f"{name}: step of {item!r} must be at least 1")
        if start in ("*", "?"):
            if end is not None:
                raise ValueError(f"{name}: {item!r} cannot be a range from {start}")
            first, last = low, high
            star = star or step_n == 1
        else:
            first = _number(start, name, low, high, names)
            last = _number(end, name, low, high, names) if end is not None else (high if step else first)
            if last < first:
                raise ValueError(f"{name}: range {item!r} ends before it starts")
        values.update(range(first, last + 1, step_n))
    return frozenset(values), star


@dataclass(frozen=True)
class CronSchedule:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    dom_star: bool
    dow_star: bool

    def _day_matches(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        return dom and dow if (self.dom_star or self.dow_star) else dom or dow

    def next_after(self, t: datetime) -> datetime | None:
        """The first fire time strictly after ``t`` (aware), in UTC."""
        t = t.astimezone(timezone.utc)
        start = t.replace(second=0, microsecond=0, tzinfo=None) + timedelta(minutes=1)
        day = start.date()
        for _ in range(366 * SEARCH_YEARS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        wall = datetime(day.year, day.month, day.day, hour, minute)
                        if wall >= start:
                            return wall.replace(tzinfo=timezone.utc)
            day += timedelta(days=1)
        return None


def parse_cron(text: str) -> CronSchedule:
    """A 5-field cron expression; ``ValueError`` names the field and the rule."""
    if not isinstance(text, str):
        raise ValueError("schedule: must be a string")
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"schedule {text!r}: must have 5 fields (minute hour day-of-month month "
                         f"day-of-week), found {len(fields)}")
    parsed = [_field(f, *spec) for f, spec in zip(fields, _FIELDS)]
    (minutes, _), (hours, _), (days, dom_star), (months, _), (weekdays, dow_star) = parsed
    return CronSchedule(text, minutes, hours, days, months, weekdays, dom_star, dow_star)


@dataclass(frozen=True)
class IntervalSchedule:
    delay_ns: int

    def next_after(self, t: datetime) -> datetime:
        # robfig's ConstantDelaySchedule: drop the fraction of a second, add the delay.
        return t.replace(microsecond=0) + timedelta(microseconds=self.delay_ns // 1000)


def parse_interval(text: str) -> IntervalSchedule:
    delay = parse_duration(text)
    if delay <= 0:
        raise ValueError(f"interval {text!r}: must be positive")
    return IntervalSchedule(delay)
