"""Evaluation metrics on hand-computed series."""
import pytest

from etlkit.scheduler import metrics


def test_speed_and_backlog_waste_split_the_gap():
    velocity = [10.0, 10.0, 10.0]
    production = [4.0, 10.0, 13.0]
    assert metrics.speed_waste(velocity, production, dt=2.0, weight=0.5) == 6.0
    assert metrics.backlog_waste(velocity, production, dt=2.0) == 6.0
    assert metrics.total_cost(velocity, production, dt=2.0) == 18.0


def test_violation_time_counts_steps_strictly_above_dtc():
    assert metrics.violation_time([0, 100, 101, 500, 100], tolerance=100, dt=5.0) == 10.0


def test_resource_seconds_weights_each_operation():
    counts = [[2, 1], [3, 1]]
    assert metrics.resource_seconds(counts, dt=10.0, weights=[1.0, 0.5]) == 60.0


@pytest.mark.parametrize(
    ("counts", "actions"),
    [
        pytest.param([1, 1, 1], 0, id="steady"),
        pytest.param([1, 3, 3, 2], 2, id="one-out-one-in"),
        pytest.param([[1, 1], [2, 2], [2, 1]], 3, id="two-operations"),
    ],
)
def test_scaling_actions_count_changes(counts, actions):
    assert metrics.scaling_actions(counts) == actions


def test_stability_is_velocity_over_cost():
    assert metrics.stability(10.0, 4.0) == 2.5
    assert metrics.stability(10.0, 0.0) == float("inf")
    assert metrics.stability(0.0, 0.0) == 0.0
