"""Exact min-cost max-flow: hand-solved instances, validation, and networkx as an oracle."""
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# Issue 16 item 9: exact for integer velocities up to 1e12 and costs up to 1e9.

def test_a_velocity_of_one_beside_1e12_is_matched():
    # main dropped any flow below 1e-12 of the total: the 1 -> 1 pair shipped nothing.
    result = min_cost_max_flow([10**12, 1], [10**12, 1], [[0, 5], [5, 0]])
    np.testing.assert_array_equal(result.flow, [[10**12, 0], [0, 1]])
    assert result.total_flow == 10**12 + 1 and type(result.total_flow) is int
    assert result.total_cost == 0


def test_costs_near_1e9_that_differ_by_one_are_told_apart():
    # main treated costs within 1e-9 * max cost * (m + n) = 4 as a tie and took 1e9.
    result = min_cost_max_flow([2], [1, 1, 1], [[0, 10**9, 10**9 - 1]])
    np.testing.assert_array_equal(result.flow, [[1, 0, 1]])
    assert result.total_cost == 10**9 - 1


def test_totals_past_2_to_the_53_are_exact_integers():
    # A cost of 1e9 on 2**70 records/s: the total needs 100 bits, a float holds 53.
    supplies, demands = [2**70, 3], [2**70 + 1, 5]
    costs = [[10**9, 10**9 - 1], [7, 10**9]]
    result = min_cost_max_flow(supplies, demands, costs)
    np.testing.assert_array_equal(result.flow, [[2**70 - 5, 5], [3, 0]])
    assert result.total_flow == 2**70 + 3
    assert result.total_cost == (2**70 - 5) * 10**9 + 5 * (10**9 - 1) + 3 * 7


def test_decimal_velocities_are_solved_in_tenths_exactly():
    # What the exact JSON reader gives for a number a double cannot hold: no rounding left-over.
    result = min_cost_max_flow([Decimal("0.1"), Decimal("0.2")], [Decimal("0.3")], [[1], [2]])
    assert result.total_flow == 0.3
    np.testing.assert_array_equal(result.flow, [[0.1], [0.2]])
    assert result.total_cost == 0.5


def test_fractional_costs_far_apart_in_magnitude_are_still_ordered():
    # 1e9 + 0.5 vs 1e9 + 0.25: a float difference of 0.25 at 1e9, now compared as integers.
    result = min_cost_max_flow([1], [1, 1], [[1e9 + 0.5, 1e9 + 0.25]])
    np.testing.assert_array_equal(result.flow, [[0, 1]])
    assert result.total_cost == 1e9 + 0.25


velocity = st.one_of(st.integers(0, 10), st.integers(0, 10**12))
cost = st.one_of(st.integers(-10, 10), st.integers(-(10**9), 10**9))


@st.composite
def integer_instances(draw):
    m, n = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    supplies = draw(st.lists(velocity, min_size=m, max_size=m))
    demands = draw(st.lists(velocity, min_size=n, max_size=n))
    costs = np.array(draw(st.lists(cost, min_size=m * n, max_size=m * n)),
                     dtype=np.int64).reshape(m, n)
    forbidden = np.array(draw(st.lists(st.booleans(), min_size=m * n, max_size=m * n)),
                         dtype=bool).reshape(m, n)
    caps = np.array(draw(st.lists(st.one_of(st.just(INF), velocity), min_size=m * n,
                                  max_size=m * n)), dtype=object).reshape(m, n)
    return supplies, demands, costs, forbidden, caps


@settings(max_examples=150, deadline=None)
@given(integer_instances())
def test_equal_flow_and_cost_to_networkx_up_to_1e12_and_1e9(instance):
    supplies, demands, costs, forbidden, caps = instance
    ours = min_cost_max_flow(supplies, demands, costs, forbidden=forbidden, caps=caps)
    oracle = networkx_min_cost_max_flow(supplies, demands, costs, forbidden, caps)
    flow = ours.flow.astype(object)  # Python ints: the checks below must not round either
    assert (flow >= 0).all() and not flow[forbidden].any()
    assert all(flow.sum(axis=1) <= supplies) and all(flow.sum(axis=0) <= demands)
    assert all(f <= c for f, c in zip(flow.ravel(), caps.ravel()))
    assert (ours.total_flow, ours.total_cost) == (oracle.total_flow, oracle.total_cost)
    assert ours.total_cost == sum(int(f) * int(c) for f, c in zip(flow.ravel(), costs.ravel()))
