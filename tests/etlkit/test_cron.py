"""The one cron parser: what Argo Events v1.9.11's calendar source accepts, and when it fires.

Reference: argo-events v1.9.11 ``pkg/eventsources/sources/calendar/start.go`` (``resolveSchedule``:
``cronlib.NewParser(Minute | Hour | Dom | Month | Dow)``) over github.com/robfig/cron v3.0.1
``parser.go`` (``getField``, ``getRange``) and ``spec.go`` (``dayMatches``).
"""
from datetime import datetime, timezone

import pytest

from etlkit.cron import CronError, cron_problem, parse_cron

UTC = timezone.utc


@pytest.mark.parametrize("expr, after, expected", [
    ("*/5 * * * *", datetime(2026, 1, 1, 10, 3, 30, tzinfo=UTC), datetime(2026, 1, 1, 10, 5, tzinfo=UTC)),
    ("*/5 * * * *", datetime(2026, 1, 1, 10, 5, tzinfo=UTC), datetime(2026, 1, 1, 10, 10, tzinfo=UTC)),
    ("0 9 * * MON-FRI", datetime(2026, 1, 2, 9, 0, tzinfo=UTC), datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
    ("0 0 13 * 5", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)),
    ("0 0 13 * *", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 13, tzinfo=UTC)),
    ("15 10 * JAN,jul ?", datetime(2026, 1, 31, 11, 0, tzinfo=UTC), datetime(2026, 7, 1, 10, 15, tzinfo=UTC)),
    ("5/20 * * * *", datetime(2026, 1, 1, 0, 50, tzinfo=UTC), datetime(2026, 1, 1, 1, 5, tzinfo=UTC)),
    # "*/2" drops robfig's star bit, so day-of-month and day-of-week are or-ed: the 13th, or any
    # even weekday (Tue 2026-01-06 comes first).
    ("0 0 13 * */2", datetime(2026, 1, 5, 1, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC)),
], ids=["step", "strictly-after", "weekday-range", "dom-or-dow-when-both-set", "dom-only",
        "month-names-and-question-mark", "start-slash-step", "star-with-step-is-restricted"])
def test_next_after(expr, after, expected):
    assert parse_cron(expr).next_after(after) == expected


def test_impossible_date_never_fires():
    assert parse_cron("0 0 31 2 *").next_after(datetime(2026, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize("expression", [
    pytest.param("*/5 * * * *", id="every-5-minutes"),
    pytest.param("0 0 1 1 *", id="yearly"),
    pytest.param("0-30/10 8-18 * JAN-MAR MON-FRI", id="names-ranges-steps"),
    pytest.param("0 12 ? * 0,6", id="question-mark-weekend"),
    pytest.param("59 23 31 12 6", id="upper-bounds"),
    # What robfig accepts and the old parsers of this project refused:
    pytest.param("? * * * *", id="question-mark-in-any-field"),
    pytest.param("1,,2 * * * *", id="empty-list-item-skipped"),
    pytest.param("*-5 * * * *", id="star-ignores-a-range-end"),
    pytest.param("+5 * * * *", id="go-atoi-plus-sign"),
    pytest.param("0 0 * * sun-SAT", id="names-any-case"),
])
def test_argo_accepts(expression):
    assert cron_problem(expression) is None


@pytest.mark.parametrize("expression, problem", [
    pytest.param("0 */5 * * * *", "must have 5 fields (minute hour day-of-month month day-of-week), found 6",
                 id="six-fields-with-seconds"),
    pytest.param("* * * *", "found 4", id="four-fields"),
    pytest.param("", "found 0", id="empty"),
    pytest.param("@hourly", "descriptors like @hourly are not accepted", id="descriptor"),
    pytest.param("@every 1m", "descriptors like @hourly are not accepted", id="every-descriptor"),
    pytest.param("60 * * * *", "minute field '60': 60 is outside 0-59", id="minute-60"),
    pytest.param("* 24 * * *", "hour field '24': 24 is outside 0-23", id="hour-24"),
    pytest.param("* * 0 * *", "day of month field '0': 0 is outside 1-31", id="day-0"),
    pytest.param("* * * 13 *", "month field '13': 13 is outside 1-12", id="month-13"),
    pytest.param("* * * * 7", "day of week field '7': 7 is outside 0-6", id="sunday-as-7"),
    pytest.param("*/0 * * * *", "minute field '*/0': step must be at least 1", id="step-0"),
    pytest.param("30-10 * * * *", "minute field '30-10': range ends before it starts", id="reversed-range"),
    pytest.param("* * * FOO *", "month field 'FOO': 'FOO' is not a number or name", id="unknown-month-name"),
    pytest.param("MON * * * *", "minute field 'MON': 'MON' is not a number", id="name-in-a-numeric-field"),
    pytest.param("1-2-3 * * * *", "too many '-'", id="two-hyphens"),
    pytest.param("*/2/3 * * * *", "too many '/'", id="two-slashes"),
    pytest.param("5- * * * *", "minute field '5-': '' is not a number", id="open-range"),
    pytest.param("CRON_TZ=UTC * * * * *", "set the calendar's timezone instead", id="timezone-prefix-ours"),
])
def test_argo_refuses(expression, problem):
    assert problem in (cron_problem(expression) or "")
    with pytest.raises(CronError):
        parse_cron(expression)
