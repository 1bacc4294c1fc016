"""Required rate CVm, operation velocity and pipeline velocity."""
import pytest

from etlkit.scheduler.observation import Service
from etlkit.scheduler.velocity import (operation_velocity, pipeline_velocity, required_rate,
                                      scale_in_rate)


@pytest.mark.parametrize(
    ("predicted", "backlog", "target", "expected"),
    [
        pytest.param(400.0, 15_000.0, 15_000.0, 400.0, id="backlog-at-target"),
        pytest.param(400.0, 30_000.0, 15_000.0, 650.0, id="backlog-above-target-drains"),
        pytest.param(400.0, 0.0, 15_000.0, 150.0, id="backlog-below-target-may-grow"),
        pytest.param(100.0, 0.0, 30_000.0, 0.0, id="never-negative"),
    ],
)
def test_required_rate_reaches_the_target_within_dtt(predicted, backlog, target, expected):
    assert required_rate(predicted, backlog, target, 60.0) == pytest.approx(expected)


def test_the_papers_two_cases_are_one_inequality():
    # C <= DTC: DTT*(PV - CV) <= DTC - C; C > DTC: DTT*(CV - PV) >= C - DTC. Both at equality.
    for backlog in (0.0, 10_000.0, 30_000.0, 50_000.0):
        cv = required_rate(400.0, backlog, 30_000.0, 60.0)
        if cv > 0:
            assert 60.0 * (400.0 - cv) == pytest.approx(30_000.0 - backlog)


@pytest.mark.parametrize(
    ("backlog", "refill", "band", "expected"),
    [
        pytest.param(5_000.0, 60.0, 0.0, None, id="refill-equal-to-dtt-is-the-papers-cvm"),
        pytest.param(0.0, 300.0, 0.0, 350.0, id="empty-backlog-refills-in-300s"),
        pytest.param(0.0, 300.0, 0.1, 390.0, id="dead-band-on-the-forecast"),
        pytest.param(45_000.0, 300.0, 0.0, None, id="never-below-cvm-when-draining"),
    ],
)
def test_scale_in_rate(backlog, refill, band, expected):
    cvm = required_rate(400.0, backlog, 15_000.0, 60.0)
    rate = scale_in_rate(400.0, backlog, 15_000.0, refill, band, required=cvm)
    assert rate == pytest.approx(cvm if expected is None else expected)


def test_operation_velocity_sums_measured_and_counts_starting_at_the_mean():
    services = [Service("a", "n", 90.0), Service("b", "n", 110.0),
                Service("c", "n", 0.0, ready=False)]
    velocity = operation_velocity(services, fallback=50.0)
    assert velocity.per_service == 100.0
    assert velocity.capacity == 300.0
    assert (velocity.ready, velocity.starting) == (2, 1)


def test_operation_velocity_falls_back_when_nothing_is_measured():
    velocity = operation_velocity([Service("a", "n", 0.0, ready=False)], fallback=80.0)
    assert (velocity.capacity, velocity.per_service) == (80.0, 80.0)


def test_pipeline_velocity_is_the_slowest_operation():
    assert pipeline_velocity([300.0, 120.0, 500.0]) == 120.0
    assert pipeline_velocity([]) == 0.0
