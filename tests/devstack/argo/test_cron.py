"""Cron next-fire (robfig semantics, in UTC as the renderer's timezone says) and intervals."""
from datetime import datetime, timezone

import pytest

from devstack.argo.cron import parse_cron, parse_interval

UTC = timezone.utc


@pytest.mark.parametrize("expr, after, expected", [
    ("*/5 * * * *", datetime(2026, 1, 1, 10, 3, 30, tzinfo=UTC), datetime(2026, 1, 1, 10, 5, tzinfo=UTC)),
    ("*/5 * * * *", datetime(2026, 1, 1, 10, 5, tzinfo=UTC), datetime(2026, 1, 1, 10, 10, tzinfo=UTC)),
    ("0 9 * * MON-FRI", datetime(2026, 1, 2, 9, 0, tzinfo=UTC), datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
    ("0 0 13 * 5", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)),
    ("0 0 13 * *", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 13, tzinfo=UTC)),
    ("15 10 * JAN,jul ?", datetime(2026, 1, 31, 11, 0, tzinfo=UTC), datetime(2026, 7, 1, 10, 15, tzinfo=UTC)),
    ("5/20 * * * *", datetime(2026, 1, 1, 0, 50, tzinfo=UTC), datetime(2026, 1, 1, 1, 5, tzinfo=UTC)),
], ids=["step", "strictly-after", "weekday-range", "dom-or-dow-when-both-set", "dom-only",
        "month-names-and-question-mark", "start-slash-step"])
def test_next_after(expr, after, expected):
    assert parse_cron(expr).next_after(after) == expected


def test_impossible_date_never_fires():
    assert parse_cron("0 0 31 2 *").next_after(datetime(2026, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize("expr, reason", [
    ("* * * *", "5 fields"), ("0 */5 * * * *", "5 fields"), ("60 * * * *", "outside 0-59"),
    ("* * * * 7", "outside 0-6"), ("5-1 * * * *", "ends before"), ("*/0 * * * *", "at least 1"),
    ("* * * FOO *", "not a number"), ("*-5 * * * *", "cannot be a range")],
    ids=["four-fields", "six-fields", "minute-range", "sunday-as-7", "reversed-range", "zero-step",
         "unknown-name", "range-from-star"])
def test_bad_cron_is_refused(expr, reason):
    with pytest.raises(ValueError, match=reason):
        parse_cron(expr)


def test_interval_counts_from_the_whole_second():
    schedule = parse_interval("30s")
    after = datetime(2026, 1, 1, 0, 0, 0, 700000, tzinfo=UTC)
    assert schedule.next_after(after) == datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["0s", "-1s", "soon"], ids=["zero", "negative", "not-a-duration"])
def test_bad_interval_is_refused(text):
    with pytest.raises(ValueError):
        parse_interval(text)
