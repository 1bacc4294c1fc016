"""Cron expressions, Go durations and time zones as the Argo Events controller parses them."""
from __future__ import annotations

import pytest

from devstack.manifests.timing import cron_problem, is_go_duration, timezone_problem


@pytest.mark.parametrize("expression", [
    pytest.param("*/5 * * * *", id="every-5-minutes"),
    pytest.param("0 0 1 1 *", id="yearly"),
    pytest.param("0-30/10 8-18 * JAN-MAR MON-FRI", id="names-ranges-steps"),
    pytest.param("0 12 ? * 0,6", id="question-mark-weekend"),
    pytest.param("59 23 31 12 6", id="upper-bounds"),
])
def test_valid_cron(expression):
    assert cron_problem(expression) is None


@pytest.mark.parametrize(("expression", "problem"), [
    pytest.param("0 */5 * * * *", "must have 5 fields", id="six-fields-with-seconds"),
    pytest.param("@hourly", "must have 5 fields", id="descriptor"),
    pytest.param("60 * * * *", "minute field '60': 60 is outside 0-59", id="minute-60"),
    pytest.param("* 24 * * *", "hour field '24'", id="hour-24"),
    pytest.param("* * 0 * *", "day of month field '0'", id="day-0"),
    pytest.param("* * * 13 *", "month field '13'", id="month-13"),
    pytest.param("* * * * 7", "day of week field '7'", id="weekday-7"),
    pytest.param("*/0 * * * *", "step must be at least 1", id="step-0"),
    pytest.param("30-10 * * * *", "range ends before it starts", id="reversed-range"),
    pytest.param("? * * * *", "'?' is only allowed", id="question-mark-in-minutes"),
    pytest.param("* * * FOO *", "FOO is outside", id="unknown-month-name"),
    pytest.param("1,,2 * * * *", "is not a value, range or step", id="empty-list-item"),
])
def test_invalid_cron(expression, problem):
    assert problem in (cron_problem(expression) or "")


@pytest.mark.parametrize(("text", "ok"), [
    pytest.param("30s", True, id="seconds"),
    pytest.param("1h30m", True, id="compound"),
    pytest.param("1.5s", True, id="fraction"),
    pytest.param("0", True, id="bare-zero"),
    pytest.param("500ms", True, id="milliseconds"),
    pytest.param("30", False, id="missing-unit"),
    pytest.param("5 min", False, id="spaced-word-unit"),
    pytest.param("1d", False, id="days-not-a-go-unit"),
    pytest.param("", False, id="empty"),
])
def test_go_duration(text, ok):
    assert is_go_duration(text) is ok


def test_timezone():
    assert timezone_problem("UTC") is None
    assert "not a known IANA time zone" in timezone_problem("Mars/Olympus")
