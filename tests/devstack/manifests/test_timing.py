"""Go durations and time zones as the Argo Events controller parses them (cron: tests/etlkit/test_cron.py)."""
from __future__ import annotations

import pytest

from devstack.manifests.timing import is_go_duration, timezone_problem


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
