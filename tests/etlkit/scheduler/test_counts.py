"""Service counts: scale out, scale in with hold and dead band, bounds, scale to zero."""
import pytest

from etlkit.scheduler.counts import size_operation
from etlkit.scheduler.policy import Policy

POLICY = Policy(scale_out_headroom=0.0, scale_in_hold_s=60.0)


def size(**overrides):
    """Four services of 100 rec/s; unless given, a scale-in must leave 1.2 * CVm."""
    args = {"name": "map", "current": 4, "capacity": 400.0, "per_service": 100.0,
            "required": 380.0, "removable": 4, "min_replicas": 1, "max_replicas": 20,
            "idle": False, "recommendations": (), "now": 1000.0, "policy": POLICY}
    args.update(overrides)
    args.setdefault("required_in", 1.2 * args["required"])
    return size_operation(**args)


@pytest.mark.parametrize(
    ("required", "headroom", "target"),
    [
        pytest.param(401.0, 0.0, 5, id="just-above-adds-one"),
        pytest.param(650.0, 0.0, 7, id="ceil-of-gap-over-alpha"),
        pytest.param(600.0, 0.0, 6, id="exact-multiple-adds-exactly"),
        pytest.param(401.0, 0.25, 6, id="headroom-sizes-beyond-the-gap"),
    ],
)
def test_scale_out_adds_ceil_of_the_gap(required, headroom, target):
    policy = Policy(scale_out_headroom=headroom, scale_in_hold_s=60.0)
    sizing = size(required=required, policy=policy)
    assert (sizing.action, sizing.target) == ("scale-out", target)
    assert "map" in sizing.reason and f"{required:.1f}" in sizing.reason


def test_scale_out_stops_at_max_replicas():
    assert size(required=5000.0, max_replicas=9).target == 9
    held = size(required=5000.0, current=9, capacity=900.0, max_replicas=9)
    assert (held.action, held.target) == ("hold", 9)
    assert "max_replicas 9" in held.reason


def test_below_min_replicas_scales_out_to_the_minimum():
    sizing = size(current=1, capacity=100.0, required=50.0, min_replicas=3)
    assert (sizing.action, sizing.target) == ("scale-out", 3)
    assert "1 services < minimum 3" in sizing.reason


def test_nothing_moves_while_one_service_less_falls_below_the_scale_in_rate():
    # 400 capacity; removing one leaves 300 < 312, although CVm is only 260.
    sizing = size(required=260.0, required_in=312.0)
    assert (sizing.action, sizing.target) == ("hold", 4)
    assert "scale-in rate 312.0" in sizing.reason


def test_scale_in_leaves_at_least_the_scale_in_rate():
    sizing = size(required=100.0, required_in=250.0)
    assert (sizing.action, sizing.target) == ("scale-in", 3)  # 300 >= 250 > 200
    assert "scale-in rate 250.0" in sizing.reason


def test_scale_in_waits_for_the_hold_window():
    recent = ((990.0, 4),)  # recommended 4 ten seconds ago
    first = size(required=150.0, recommendations=recent)
    assert (first.action, first.target) == ("hold", 4)
    assert "within the last 60s" in first.reason
    later = size(required=150.0, recommendations=first.recommendations, now=1061.0)
    assert (later.action, later.target) == ("scale-in", 2)


def test_scale_in_goes_to_the_highest_recommendation_of_the_window():
    window = ((950.0, 3), (980.0, 2))
    sizing = size(required=100.0, recommendations=window)
    assert (sizing.action, sizing.target) == ("scale-in", 3)


def test_scale_in_removes_only_added_services():
    sizing = size(required=100.0, removable=1)
    assert (sizing.action, sizing.target) == ("scale-in", 3)
    none_added = size(required=100.0, removable=0)
    assert (none_added.action, none_added.target) == ("hold", 4)
    assert "no added service" in none_added.reason


def test_scale_in_keeps_min_replicas():
    assert size(required=10.0, min_replicas=2).target == 2


def test_idle_source_goes_to_zero_even_below_min_replicas():
    sizing = size(idle=True, min_replicas=2, removable=0)
    assert (sizing.action, sizing.target) == ("to-zero", 0)
    assert size(idle=True, current=0, capacity=0.0).action == "hold"


def test_a_woken_source_gets_at_least_one_service():
    sizing = size(current=0, capacity=0.0, required=30.0, min_replicas=0, removable=0)
    assert (sizing.action, sizing.target) == ("scale-out", 1)


def test_without_any_velocity_the_count_is_kept():
    sizing = size(per_service=0.0, capacity=0.0, required=500.0)
    assert (sizing.action, sizing.target) == ("hold", 4)
    assert "no velocity known" in sizing.reason


def test_old_recommendations_leave_the_window():
    sizing = size(required=380.0, recommendations=((100.0, 9), (995.0, 5)))
    assert sizing.recommendations == ((995.0, 5), (1000.0, 4))


def test_the_window_keeps_only_counts_that_can_still_be_its_maximum():
    window = ((900.0, 7), (950.0, 3), (980.0, 2))
    sizing = size(current=8, capacity=800.0, required=300.0, recommendations=window,
                  policy=Policy(scale_in_hold_s=300.0))
    # 3 and 2 are outranked by the new recommendation 4; 7 stays the maximum.
    assert sizing.recommendations == ((900.0, 7), (1000.0, 4))
    assert (sizing.action, sizing.target) == ("scale-in", 7)
