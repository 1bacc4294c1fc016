"""Durations: workflow text to milliseconds and milliseconds to Go duration text, one rule for
a workflow's own fields and its steps' params."""
from __future__ import annotations

import pytest

from etlkit.durations import DURATION_RULE, go_duration, parse_duration_ms
from etlkit.steps.config import ConfigError, ConfigReader
from etlkit.workflow.fields import Fields


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


def _workflow_reads(value):
    fields = Fields({"timeout": value}, "delivery", [], None)  # known=None: any key
    ms = fields.duration_ms("timeout", minimum_ms=0)
    return ("refused", fields.errors[0].rule.split(", got")[0]) if fields.errors else ("ms", ms)


def _step_reads(value):
    try:
        return ("ms", ConfigReader({"window": value}, "params").duration_ms("window", positive=False))
    except ConfigError as exc:
        return ("refused", exc.rule.split(", got")[0])


@pytest.mark.parametrize("value", [30, 0.25, "30", "30s", "250ms", "7d", "1.5s", " 30s", "0s"],
                         ids=["bare-int", "bare-float", "bare-text", "seconds", "milliseconds",
                              "days", "decimal", "leading-space", "zero"])
def test_a_workflow_field_and_a_step_param_read_a_duration_alike(value):
    # Issue 17 item 8: a step's reader took a bare 30 as 30 s where the workflow's refused it.
    assert _step_reads(value) == _workflow_reads(value)
    if not isinstance(value, str):
        assert _step_reads(value) == ("refused", DURATION_RULE)
