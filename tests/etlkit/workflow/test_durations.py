"""Durations: workflow text to milliseconds and milliseconds to Go duration text."""
from __future__ import annotations

import pytest

from etlkit.workflow.durations import go_duration, parse_duration_ms


@pytest.mark.parametrize(
    "text, ms",
    [
        pytest.param("250ms", 250, id="milliseconds"),
        pytest.param("30s", 30_000, id="seconds"),
        pytest.param("5m", 300_000, id="minutes"),
        pytest.param("2h", 7_200_000, id="hours"),
        pytest.param("7d", 604_800_000, id="days"),
    ],
)
def test_parse(text, ms):
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", [30, "30", "1.5s", "1m30s", "-1s", " 30s", "30S"],
                         ids=["int", "no-unit", "decimal", "compound", "negative", "leading-space", "upper-unit"])
def test_parse_refuses(text):
    with pytest.raises(ValueError, match="expected a duration like '30s'"):
        parse_duration_ms(text)


@pytest.mark.parametrize(
    "ms, text",
    [
        pytest.param(0, "0ms", id="zero"),
        pytest.param(1_500, "1500ms", id="not-whole-seconds"),
        pytest.param(90_000, "90s", id="not-whole-minutes"),
        pytest.param(600_000, "10m", id="minutes"),
        pytest.param(604_800_000, "168h", id="days-become-hours"),
    ],
)
def test_go_duration(ms, text):
    assert go_duration(ms) == text
