"""Rates, backlog and velocities from offsets and counters (pure arithmetic)."""
import doctest

import pytest

from etlkit.controller import measure
from etlkit.controller.measure import (OffsetSample, backlog, counter_delta, function_seconds,
                                       parse_prometheus, partition_lag, processing_rate,
                                       rate_between, replicas_per_node)


def test_docstrings():
    assert doctest.testmod(measure).failed == 0


@pytest.mark.parametrize("committed, high, low, lag", [
    (None, 120, 0, 120),   # nothing committed: the whole partition (groups read from the oldest)
    (None, 120, 20, 100),  # ... from the low watermark, not from zero
    (100, 120, 0, 20),
    (120, 120, 0, 0),
    (130, 120, 0, 0),      # committed past the end (a stale watermark): never negative
    (5, 120, 20, 100),     # committed before the low watermark: those records are gone
    (-1001, 50, 0, 50),    # librdkafka's "invalid offset" counts as nothing committed
], ids=["uncommitted", "uncommitted-after-retention", "behind", "caught-up", "ahead",
        "before-log-start", "invalid-offset"])
def test_partition_lag(committed, high, low, lag):
    assert partition_lag(committed, high, low) == lag


def test_backlog_sums_every_partition_high_names():
    assert backlog({0: 10, 1: None}, {0: 15, 1: 7, 2: 3}, {1: 2}) == 5 + 5 + 3


@pytest.mark.parametrize("before, after, rate", [
    (None, OffsetSample(10.0, {0: 5}), None),                              # first sample
    (OffsetSample(0.0, {0: 100, 1: 50}), OffsetSample(10.0, {0: 300, 1: 150}), 30.0),
    (OffsetSample(0.0, {0: 100}), OffsetSample(4.0, {0: 100, 1: 40}), 10.0),  # new partition
    (OffsetSample(0.0, {0: 100}), OffsetSample(5.0, {0: 20}), None),       # topic recreated
    (OffsetSample(5.0, {0: 100}), OffsetSample(5.0, {0: 120}), None),      # no time passed
], ids=["first", "two-partitions", "partition-added", "went-back", "same-time"])
def test_rate_between(before, after, rate):
    measured = rate_between(before, after)
    assert measured.value == rate
    assert (measured.reason == "") == (rate is not None)


def test_counter_delta_is_none_after_a_reset():
    assert counter_delta(None, 3.0) is None
    assert counter_delta(2.0, 3.5) == 1.5
    assert counter_delta(9.0, 1.0) is None  # the gateway restarted


@pytest.mark.parametrize("records, busy, velocity", [
    (1500, 3.0, 500.0),
    (0, 2.0, None),      # calls but nothing committed: nothing to tell
    (100, 0.0, None),    # records without calls (a Sensor filter dropped them)
    (None, 1.0, None),
], ids=["measured", "no-records", "no-busy-time", "reset"])
def test_processing_rate(records, busy, velocity):
    assert processing_rate(records, busy).value == velocity


METRICS = """# HELP gateway_functions_seconds Function time taken
# TYPE gateway_functions_seconds histogram
gateway_functions_seconds_bucket{code="200",function_name="map.openfaas-fn",le="0.005"} 1
gateway_functions_seconds_sum{code="200",function_name="map.openfaas-fn"} 2.500000
gateway_functions_seconds_sum{code="500",function_name="map.openfaas-fn"} 0.500000
gateway_functions_seconds_sum{code="200",function_name="filter"} 1.25
gateway_functions_seconds_sum{code="200",function_name="map.other-ns"} 9
faas_etl_replicas_per_node{function_name="map",node="node-a"} 2
faas_etl_replicas_per_node{function_name="we\\"ird",node="node-b"} 1
"""


def test_gateway_metrics_give_busy_seconds_per_function_of_our_namespace():
    samples = parse_prometheus(METRICS)
    assert function_seconds(samples, "openfaas-fn") == {"map": 3.0, "filter": 1.25}
    assert replicas_per_node(samples) == {("map", "node-a"): 2, ('we"ird', "node-b"): 1}
