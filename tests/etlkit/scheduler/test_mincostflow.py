"""Exact min-cost max-flow: hand-solved instances, validation, and networkx as an oracle."""
import numpy as np
import pytest

from devstack.evaluation.oracle import networkx_min_cost_max_flow
from etlkit.scheduler.errors import MatchingInputError
from etlkit.scheduler.mincostflow import min_cost_max_flow

INF = np.inf


def assert_feasible(result, supplies, demands, forbidden=None, caps=None):
    flow = result.flow
    assert (flow >= 0).all()
    assert (flow.sum(axis=1) <= np.asarray(supplies) + 1e-9).all()
    assert (flow.sum(axis=0) <= np.asarray(demands) + 1e-9).all()
    if forbidden is not None:
        assert not flow[np.asarray(forbidden, dtype=bool)].any()
    if caps is not None:
        assert (flow <= np.asarray(caps) + 1e-9).all()


@pytest.mark.parametrize(
    ("supplies", "demands", "costs", "options", "flow", "cost"),
    [
        pytest.param([3], [1, 2], [[5, 1]], {}, [[1, 2]], 7, id="one-source-two-sinks"),
        pytest.param([2, 2], [3, 1], [[1, 3], [2, 1]], {}, [[2, 0], [1, 1]], 5,
                     id="unique-optimum-by-hand"),
        pytest.param([1, 1], [1, 1], [[0, 2], [2, 6]], {}, [[0, 1], [1, 0]], 4,
                     id="greedy-counterexample-needs-rerouting"),
        pytest.param([1, 1], [1, 1], [[0, 2], [0, 99]],
                     {"forbidden": [[False, False], [False, True]]}, [[0, 1], [1, 0]], 2,
                     id="forbidden-pair-still-max-flow"),
        pytest.param([4], [4, 4], [[1, 2]], {"caps": [[1, INF]]}, [[1, 3]], 7,
                     id="capped-cheap-link"),
        pytest.param([5, 5], [3], [[2], [1]], {}, [[0], [3]], 3, id="more-supply-than-demand"),
        pytest.param([1, 1], [1, 1], [[-5, 0], [0, -1]], {}, [[1, 0], [0, 1]], -6,
                     id="negative-costs"),
        pytest.param([2, 2], [2, 2], [[1, 1], [1, 1]],
                     {"forbidden": [[False, True], [False, True]]}, [[2, 0], [0, 0]], 2,
                     id="max-flow-limited-by-forbidden-column"),
        pytest.param([0, 3], [3, 0], [[0, 0], [4, 0]], {}, [[0, 0], [3, 0]], 12,
                     id="zero-supply-and-zero-demand"),
        pytest.param([2], [2], [[float("nan")]], {"forbidden": [[True]]}, [[0]], 0,
                     id="nan-cost-on-forbidden-pair-is-ignored"),
    ],
)
def test_hand_solved_instances(supplies, demands, costs, options, flow, cost):
    result = min_cost_max_flow(supplies, demands, costs, **options)
    np.testing.assert_array_equal(result.flow, flow)
    assert result.total_cost == cost
    assert result.total_flow == np.sum(flow)


@pytest.mark.parametrize(("m", "n"), [(0, 3), (3, 0), (0, 0)], ids=["no-upstream",
                                                                     "no-downstream", "none"])
def test_empty_sides_give_an_empty_flow(m, n):
    result = min_cost_max_flow(np.ones(m), np.ones(n), np.zeros((m, n)))
    assert result.flow.shape == (m, n)
    assert result.total_flow == 0.0 and result.total_cost == 0.0


def test_fractional_velocities_are_matched_in_full():
    result = min_cost_max_flow([0.5, 1.25], [1.75], [[1.0], [2.0]])
    assert result.total_flow == pytest.approx(1.75)
    assert result.total_cost == pytest.approx(0.5 + 2.5)


def test_the_result_is_read_only():
    result = min_cost_max_flow([1], [1], [[0]])
    with pytest.raises(ValueError):
        result.flow[0, 0] = 5


def test_equal_instances_give_identical_flows():
    rng = np.random.default_rng(11)
    costs = rng.integers(0, 3, (12, 12))  # many ties
    first = min_cost_max_flow(np.full(12, 5), np.full(12, 5), costs)
    second = min_cost_max_flow(np.full(12, 5), np.full(12, 5), costs.copy())
    np.testing.assert_array_equal(first.flow, second.flow)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"supplies": [1, -1]}, "supplies[1]", id="negative-supply"),
        pytest.param({"demands": [float("inf"), 1]}, "demands[0]", id="infinite-demand"),
        pytest.param({"demands": [[1, 1]]}, "demands", id="demands-not-a-vector"),
        pytest.param({"costs": [[0, 1, 2], [0, 1, 2]]}, "costs", id="costs-wrong-shape"),
        pytest.param({"costs": [[0, float("nan")], [0, 0]]}, "costs[0, 1]",
                     id="nan-cost-on-allowed-pair"),
        pytest.param({"caps": [[1, 1], [-1, 1]]}, "caps[1, 0]", id="negative-cap"),
        pytest.param({"forbidden": [[True]]}, "forbidden", id="forbidden-wrong-shape"),
        pytest.param({"supplies": ["a", "b"]}, "supplies", id="supplies-not-numbers"),
    ],
)
def test_invalid_instances_name_the_culprit(kwargs, field):
    instance = {"supplies": [1, 1], "demands": [1, 1], "costs": [[0, 1], [1, 0]], **kwargs}
    with pytest.raises(MatchingInputError) as caught:
        min_cost_max_flow(instance.pop("supplies"), instance.pop("demands"),
                          instance.pop("costs"), **instance)
    assert caught.value.field == field


def random_instance(rng):
    m, n = (int(v) for v in rng.integers(1, 11, size=2))
    supplies = rng.integers(0, 16, m)
    demands = rng.integers(0, 16, n)
    costs = rng.integers(-10, 51, (m, n))
    forbidden = rng.random((m, n)) < 0.25
    caps = np.where(rng.random((m, n)) < 0.3, rng.integers(0, 9, (m, n)), INF)
    return supplies, demands, costs, forbidden, caps


@pytest.mark.parametrize("seed", range(250), ids=lambda s: f"seed-{s}")
def test_equal_flow_and_cost_to_networkx(seed):
    supplies, demands, costs, forbidden, caps = random_instance(np.random.default_rng(seed))
    ours = min_cost_max_flow(supplies, demands, costs, forbidden=forbidden, caps=caps)
    oracle = networkx_min_cost_max_flow(supplies, demands, costs, forbidden, caps)
    assert_feasible(ours, supplies, demands, forbidden, caps)
    assert (ours.total_flow, ours.total_cost) == (oracle.total_flow, oracle.total_cost)
