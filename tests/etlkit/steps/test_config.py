"""ConfigReader: durations, lists, unknown keys."""
import pytest

from etlkit.steps import ConfigError
from etlkit.steps.config import ConfigReader, field_path


def test_durations_follow_the_one_rule():
    # Every unit is tested in tests/etlkit/test_durations.py, for this reader and the workflow's.
    assert ConfigReader({"d": "1m"}, "p").duration_ms("d", positive=True) == 60_000


@pytest.mark.parametrize("value", [
    pytest.param(0, id="zero"), pytest.param("0s", id="zero-text"), pytest.param(-1, id="negative"),
    pytest.param("1.5m", id="fraction-with-unit"), pytest.param("5", id="text-without-unit"),
    pytest.param(True, id="bool"), pytest.param(float("inf"), id="infinite"),
    pytest.param(0.0001, id="sub-millisecond"),
    # A bare number has no unit (60 s? 60 ms?): refused, as a workflow's own durations are.
    pytest.param(60, id="bare-int"), pytest.param(0.25, id="bare-fraction"),
])
def test_bad_durations(value):
    with pytest.raises(ConfigError) as caught:
        ConfigReader({"d": value}, "p").duration_ms("d", positive=True)
    assert caught.value.field == "p.d"


def test_zero_is_a_valid_non_negative_duration():
    assert ConfigReader({"d": "0s"}, "p").duration_ms("d", positive=False) == 0


def test_finish_reports_the_first_unknown_key_sorted():
    reader = ConfigReader({"b": 1, "z": 2, "a": 3}, "p")
    reader.raw("a")
    with pytest.raises(ConfigError, match="^p.b: is not a known setting$"):
        reader.finish()


def test_null_counts_as_absent():
    assert ConfigReader({"x": None}, "p").text("x", "default") == "default"
    with pytest.raises(ConfigError, match="^p.x: is required$"):
        ConfigReader({"x": None}, "p").text("x")


def test_field_path():
    assert field_path("a.b", "w") == ("a", "b")
    with pytest.raises(ConfigError, match="^w: must be a field name"):
        field_path("", "w")
