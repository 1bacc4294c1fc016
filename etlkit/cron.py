"""Cron schedules exactly as Argo Events v1.9.11's calendar EventSource parses them.

The one cron parser of the project: the workflow format (and so the workflow manager's API), the
manifest validator and the local Argo runner all call :func:`parse_cron` / :func:`cron_problem`, so
an expression is accepted by one exactly when it is accepted by all, and by Argo.

Argo parses ``schedule`` with ``cron.NewParser(Minute | Hour | Dom | Month | Dow)`` from
github.com/robfig/cron/v3 v3.0.1 (argo-events v1.9.11 ``pkg/eventsources/sources/calendar/
start.go`` ``resolveSchedule``, called by ``validate.go``); the rules below are robfig's
``parser.go`` (``Parse``, ``getField``, ``getRange``, ``mustParseInt``) and ``spec.go``
(``dayMatches``) at v3.0.1:

* exactly 5 whitespace-separated fields ``minute hour day-of-month month day-of-week``; no seconds
  field and no ``@hourly``/``@every`` descriptors (the Descriptor option is not set);
* a field is a ``,``-list whose empty items are skipped (``1,,2`` is ``1,2``); an item is ``*`` or
  ``?`` (in any field), a value, or a range ``a-b``, optionally followed by ``/step``; ``a/step``
  means ``a-max/step``; after ``*``/``?`` robfig ignores a ``-`` part (``*-5`` is ``*``);
* values are decimal (Go ``strconv.Atoi``: a leading ``+`` is allowed) or, for month and
  day-of-week only, a case-insensitive three-letter name; weekdays are 0-6 (7 is refused);
* day-of-month and day-of-week are *or*-ed when both are restricted and *and*-ed when either
  item list holds a ``*``/``?`` without a step above 1.

One deliberate difference (ours): robfig also reads a ``TZ=zone``/``CRON_TZ=zone`` prefix; it is
refused here because the calendar's ``timezone`` field says the zone, and two places that can
disagree are one too many.

Pure: :meth:`CronSchedule.next_after` takes the time to start from and works in UTC (the renderer
writes ``timezone: "UTC"`` beside every schedule).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names usable instead of numbers), in robfig's field order.
FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
          ("month", 1, 12, {n: i for i, n in enumerate(_MONTHS, 1)}),
          ("day of week", 0, 6, {n: i for i, n in enumerate(_DAYS)}))
FIELD_COUNT_RULE = "must have 5 fields (minute hour day-of-month month day-of-week)"
_GO_ATOI = re.compile(r"^\+?[0-9]+$")  # what strconv.Atoi accepts once '-' has split the range
SEARCH_YEARS = 5  # robfig gives up after five years without a match


class CronError(ValueError):
    """A refused expression; the message names the cron field, the item and the rule."""


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
        """The first fire time strictly after ``t`` (aware), in UTC; None if none within 5 years."""
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


def _number(text: str, where: str, names: dict[str, int]) -> int:
    if _GO_ATOI.match(text):
        return int(text)
    if text.lower() in names:
        return names[text.lower()]
    raise CronError(f"{where}: {text!r} is not a number{' or name' if names else ''}")


def _item(item: str, name: str, low: int, high: int, names: dict[str, int]) -> tuple[range, bool]:
    """robfig's ``getRange``: the values of one list item, and whether it counts as a star."""
    where = f"{name} field {item!r}"
    range_and_step = item.split("/")
    if len(range_and_step) > 2:
        raise CronError(f"{where}: is not a value, range or step (too many '/')")
    bounds = range_and_step[0].split("-")
    star = bounds[0] in ("*", "?")
    if star:
        first, last = low, high  # robfig ignores whatever follows '*-'
    elif len(bounds) > 2:
        raise CronError(f"{where}: is not a value, range or step (too many '-')")
    else:
        first = _number(bounds[0], where, names)
        last = _number(bounds[1], where, names) if len(bounds) == 2 else first
    step = 1
    if len(range_and_step) == 2:
        step = _number(range_and_step[1], where, {})
        if len(bounds) == 1:
            last = high  # "a/n" means "a-max/n"
        star = star and step <= 1
    for value in (first, last):
        if not low <= value <= high:
            raise CronError(f"{where}: {value} is outside {low}-{high}")
    if first > last:
        raise CronError(f"{where}: range ends before it starts")
    if step == 0:
        raise CronError(f"{where}: step must be at least 1")
    return range(first, last + 1, step), star


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for item in (part for part in text.split(",") if part):  # Go FieldsFunc skips empty items
        span, item_star = _item(item, name, low, high, names)
        values.update(span)
        star = star or item_star
    return frozenset(values), star


def parse_cron(text: str) -> CronSchedule:
    """A schedule as Argo's calendar source would run it; :class:`CronError` says why not.

    >>> parse_cron("*/15 9-17 * * MON-FRI").minutes == frozenset({0, 15, 30, 45})
    True
    >>> parse_cron("60 * * * *")
    Traceback (most recent call last):
    ...
    etlkit.cron.CronError: minute field '60': 60 is outside 0-59
    """
    if not isinstance(text, str):
        raise CronError("must be a string")
    if text.startswith(("TZ=", "CRON_TZ=")):
        raise CronError("a TZ=/CRON_TZ= prefix is not accepted: set the calendar's timezone instead")
    fields = text.split()
    if len(fields) != len(FIELDS):
        hint = "; descriptors like @hourly are not accepted" if text.startswith("@") else ""
        raise CronError(f"{FIELD_COUNT_RULE}, found {len(fields)}{hint}")
    parsed = [_field(f, *spec) for f, spec in zip(fields, FIELDS)]
    (minutes, _), (hours, _), (days, dom_star), (months, _), (weekdays, dow_star) = parsed
    return CronSchedule(text, minutes, hours, days, months, weekdays, dom_star, dow_star)


def cron_problem(text: str) -> str | None:
    """Why Argo would refuse ``text`` as a calendar schedule, or None when it accepts it."""
    try:
        parse_cron(text)
    except CronError as exc:
        return str(exc)
    return None
