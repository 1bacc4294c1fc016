"""Calendar intervals (cron schedules: tests/etlkit/test_cron.py, the one parser's own tests)."""
from datetime import datetime, timezone

import pytest

from devstack.argo.cron import parse_interval

UTC = timezone.utc


def test_interval_counts_from_the_whole_second():
    schedule = parse_interval("30s")
    after = datetime(2026, 1, 1, 0, 0, 0, 700000, tzinfo=UTC)
    assert schedule.next_after(after) == datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["0s", "-1s", "soon"], ids=["zero", "negative", "not-a-duration"])
def test_bad_interval_is_refused(text):
    with pytest.raises(ValueError):
        parse_interval(text)
