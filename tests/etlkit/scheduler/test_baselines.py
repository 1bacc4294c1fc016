"""The yardstick matchers, and the note's counterexamples where they lose to the exact one."""
import numpy as np
import pytest

from etlkit.scheduler.baselines import greedy_pairs, greedy_per_service, round_robin
from etlkit.scheduler.mincostflow import min_cost_max_flow

NOTE_TOPOLOGY_COSTS = [[2, 4], [0, 4]]  # U1@n1, U2@n2 -> D1@n2, D2@n3 (other rack)


@pytest.mark.parametrize(
    ("matcher", "costs", "options", "flow", "cost"),
    [
        pytest.param(greedy_pairs, [[0, 2], [2, 6]], {}, 2, 6, id="greedy-general-costs"),
        pytest.param(greedy_pairs, [[0, 2], [0, 0]],
                     {"forbidden": [[False, False], [False, True]]}, 1, 0,
                     id="greedy-forbidden-pair-ships-short"),
        pytest.param(greedy_per_service, NOTE_TOPOLOGY_COSTS, {}, 2, 6,
                     id="per-service-greedy-topology"),
        pytest.param(round_robin, NOTE_TOPOLOGY_COSTS, {}, 2, 6, id="round-robin-topology"),
    ],
)
def test_counterexamples_where_the_baseline_is_wrong(matcher, costs, options, flow, cost):
    baseline = matcher([1, 1], [1, 1], costs, **options)
    exact = min_cost_max_flow([1, 1], [1, 1], costs, **options)
    assert (baseline.total_flow, baseline.total_cost) == (flow, cost)
    assert exact.total_flow == 2
    assert exact.total_flow > baseline.total_flow or exact.total_cost < baseline.total_cost


def test_exact_beats_each_counterexample_strictly():
    assert min_cost_max_flow([1, 1], [1, 1], [[0, 2], [2, 6]]).total_cost == 4
    assert min_cost_max_flow([1, 1], [1, 1], NOTE_TOPOLOGY_COSTS).total_cost == 4


def test_round_robin_deals_partners_in_a_cycle():
    # A north-west corner would give the second service to the first partner again.
    result = round_robin([1, 1, 1], [2, 2], np.zeros((3, 2)))
    np.testing.assert_array_equal(result.flow, [[1, 0], [0, 1], [1, 0]])


@pytest.mark.parametrize("matcher", [greedy_pairs, greedy_per_service, round_robin],
                         ids=["greedy", "per-service", "round-robin"])
def test_baselines_respect_caps_and_forbidden_pairs(matcher):
    forbidden = [[True, False], [False, False]]
    caps = [[np.inf, 1], [np.inf, np.inf]]
    result = matcher([3, 3], [3, 3], [[0, 0], [0, 0]], forbidden=forbidden, caps=caps)
    assert result.flow[0, 0] == 0 and result.flow[0, 1] <= 1
    assert (result.flow.sum(axis=1) <= 3).all() and (result.flow.sum(axis=0) <= 3).all()
