"""Lag from committed offsets and fetch-response high watermarks."""
import pytest

from devstack.pipeline.offsets import group_lag, partition_lag


@pytest.mark.parametrize(("committed", "high", "low", "lag"), [
    pytest.param(None, 10, 0, 10, id="nothing-committed-reads-from-low"),
    pytest.param(-1001, 10, 0, 10, id="librdkafka-invalid-offset"),
    pytest.param(4, 10, 0, 6, id="part-way"),
    pytest.param(10, 10, 0, 0, id="caught-up"),
    pytest.param(None, 10, 7, 3, id="retention-moved-low"),
    pytest.param(2, 10, 7, 3, id="committed-below-low"),
    pytest.param(12, 10, 0, 0, id="high-not-yet-refreshed"),
    pytest.param(None, 0, 0, 0, id="empty-partition"),
])
def test_partition_lag(committed, high, low, lag):
    assert partition_lag(committed, high, low) == lag


def test_group_lag_sums_the_partitions_high_names():
    lag = group_lag("g", "t", committed={0: 5, 1: None, 2: 3}, high={0: 5, 1: 4, 2: 3})
    assert (lag.lag, lag.committed, lag.high, lag.caught_up) == (4, 8, 12, False)
    assert group_lag("g", "t", {0: 5}, {0: 5}).caught_up
