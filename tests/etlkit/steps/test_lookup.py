"""CachedLookup: refresh on time, stale-while-failing, bounded staleness; join_text."""
import pytest

from etlkit.steps import CachedLookup, LookupUnavailable, RecordError
from etlkit.steps.lookup import join_text


class ScriptedSource:
    """Returns the next table on each load; an Exception in the script is raised instead."""

    def __init__(self, *script):
        self.script = list(script)
        self.loads = 0

    def load(self):
        self.loads += 1
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def test_loads_once_then_reuses_until_the_refresh_period():
    source = ScriptedSource({"a": {"v": 1}}, {"a": {"v": 2}})
    lookup = CachedLookup(source, refresh_ms=1000)
    assert lookup.table(0) == {"a": {"v": 1}}
    assert lookup.table(999) == {"a": {"v": 1}} and source.loads == 1
    assert lookup.table(1000) == {"a": {"v": 2}} and source.loads == 2
    assert lookup.status.loaded_at_ms == 1000 and lookup.status.rows == 1


def test_first_load_failure_raises():
    lookup = CachedLookup(ScriptedSource(OSError("disk gone")), refresh_ms=1000)
    with pytest.raises(LookupUnavailable, match="OSError: disk gone"):
        lookup.table(0)


def test_failed_refresh_serves_the_previous_table_and_retries_later():
    source = ScriptedSource({"a": {}}, ValueError("bad line 3"), {"b": {}})
    lookup = CachedLookup(source, refresh_ms=1000, retry_ms=500)
    lookup.table(0)
    assert lookup.table(1000) == {"a": {}}  # refresh failed: still the old table
    assert lookup.status.last_error == "ValueError: bad line 3"
    assert lookup.table(1400) == {"a": {}} and source.loads == 2  # no retry before retry_ms
    assert lookup.table(1500) == {"b": {}} and lookup.status.last_error is None


def test_too_stale_a_table_is_refused():
    source = ScriptedSource({"a": {}}, OSError("x"), OSError("y"))
    lookup = CachedLookup(source, refresh_ms=1000, retry_ms=1000, max_stale_ms=2500)
    lookup.table(0)
    lookup.table(1000)
    lookup.table(2000)
    with pytest.raises(LookupUnavailable, match="2600 ms old, over the 2500 ms limit"):
        lookup.table(2600)


def test_refresh_period_must_be_positive():
    with pytest.raises(ValueError, match="refresh_ms"):
        CachedLookup(ScriptedSource(), refresh_ms=0)


@pytest.mark.parametrize("value, text", [
    pytest.param("C1", "C1", id="text"),
    pytest.param(42, "42", id="int"),
    pytest.param(42.0, "42", id="integral-float"),
    pytest.param(2.5, "2.5", id="float"),
    pytest.param(True, "true", id="bool"),
    pytest.param(None, None, id="null"),
])
def test_join_text(value, text):
    assert join_text(value, "k") == text


def test_join_text_refuses_containers():
    with pytest.raises(RecordError, match="k: a join key must be text or a number, got list"):
        join_text([1], "k")
