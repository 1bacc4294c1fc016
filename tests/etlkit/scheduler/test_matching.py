"""Service-level matching: node aggregation stays exact, ids drive forbidden pairs and caps."""
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.evaluation.oracle import networkx_min_cost_max_flow

from etlkit.scheduler.errors import MatchingInputError
from etlkit.scheduler.matching import ALGORITHMS, Endpoint, ServiceMatching, match_services
from etlkit.scheduler.mincostflow import min_cost_max_flow
from etlkit.scheduler.topology import NodeTopology, distance_matrix

NODES = {
    "a1": NodeTopology("a1", "eu", "eu-a", "a1"),
    "a2": NodeTopology("a2", "eu", "eu-a", "a2"),
    "b1": NodeTopology("b1", "eu", "eu-b", "b1"),
    "c1": NodeTopology("c1", "us", "us-a", "c1"),
}


def random_services(rng, prefix, count):
    names = sorted(NODES)
    return [Endpoint(f"{prefix}{k}", names[rng.integers(len(names))], float(rng.integers(1, 30)))
            for k in range(count)]


def per_service_totals(matching, endpoints, side):
    totals = dict.fromkeys((e.service_id for e in endpoints), 0)
    for flow in matching.flows:
        totals[getattr(flow, side)] += flow.amount
    return totals


@pytest.mark.parametrize("seed", range(60), ids=lambda s: f"seed-{s}")
@pytest.mark.parametrize("algorithm", ["hierarchical", "exact"])
def test_node_aggregation_equals_the_per_service_optimum(seed, algorithm):
    rng = np.random.default_rng(seed)
    up = random_services(rng, "u", int(rng.integers(1, 15)))
    down = random_services(rng, "d", int(rng.integers(1, 15)))
    matching = match_services(up, down, NODES, algorithm=algorithm)
    costs = distance_matrix([NODES[e.node].path for e in up], [NODES[e.node].path for e in down])
    exact = min_cost_max_flow([e.velocity for e in up], [e.velocity for e in down], costs)
    assert matching.total_flow == exact.total_flow
    assert matching.total_cost == exact.total_cost
    # The split over services respects every service's own velocity.
    for endpoints, side in ((up, "upstream"), (down, "downstream")):
        totals = per_service_totals(matching, endpoints, side)
        assert all(totals[e.service_id] <= e.velocity + 1e-9 for e in endpoints)


def test_services_on_the_same_host_are_matched_first():
    up = [Endpoint("u0", "a1", 5.0), Endpoint("u1", "c1", 5.0)]
    down = [Endpoint("d0", "c1", 5.0), Endpoint("d1", "a1", 5.0)]
    matching = match_services(up, down, NODES)
    assert [(f.upstream, f.downstream, f.amount, f.cost) for f in matching.flows] == [
        ("u0", "d1", 5.0, 0.0), ("u1", "d0", 5.0, 0.0)]


def test_forbidden_pair_by_id_is_routed_around():
    up = [Endpoint("u0", "a1", 5.0)]
    down = [Endpoint("d0", "a1", 5.0), Endpoint("d1", "c1", 5.0)]
    matching = match_services(up, down, NODES, forbidden=frozenset({("u0", "d0")}))
    assert [(f.downstream, f.amount, f.cost) for f in matching.flows] == [("d1", 5.0, 6.0)]


def test_a_cap_by_id_spills_the_rest_to_the_next_cheapest_partner():
    up = [Endpoint("u0", "a1", 5.0)]
    down = [Endpoint("d0", "a1", 5.0), Endpoint("d1", "a2", 5.0)]
    matching = match_services(up, down, NODES, caps={("u0", "d0"): 2.0})
    assert [(f.downstream, f.amount) for f in matching.flows] == [("d0", 2.0), ("d1", 3.0)]
    assert matching.total_cost == 3.0 * 2.0


def test_rules_about_services_that_are_gone_are_ignored():
    up = [Endpoint("u0", "a1", 1.0)]
    down = [Endpoint("d0", "a1", 1.0)]
    matching = match_services(up, down, NODES, forbidden=frozenset({("u9", "d0")}),
                              caps={("u0", "d9"): 0.0})
    assert matching.total_flow == 1.0


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_ships_the_maximum_on_a_complete_topology(algorithm):
    rng = np.random.default_rng(3)
    up, down = random_services(rng, "u", 8), random_services(rng, "d", 6)
    matching = match_services(up, down, NODES, algorithm=algorithm)
    assert matching.total_flow == min(sum(e.velocity for e in up),
                                      sum(e.velocity for e in down))
    assert matching.algorithm == algorithm


def test_round_trip_through_plain_data():
    up = [Endpoint("u0", "a1", 3.0), Endpoint("u1", "b1", 2.0)]
    down = [Endpoint("d0", "c1", 4.0)]
    matching = match_services(up, down, NODES)
    assert ServiceMatching.from_dict(matching.to_dict()) == matching
    assert matching.stability == pytest.approx(matching.total_flow / matching.total_cost)


@pytest.mark.parametrize(
    ("up", "down", "kwargs", "field"),
    [
        pytest.param([Endpoint("u0", "zz", 1.0)], [], {}, "upstream[0].node", id="unknown-node"),
        pytest.param([], [Endpoint("d0", "a1", 1.0), Endpoint("d0", "a2", 1.0)], {},
                     "downstream[1].service_id", id="duplicate-id"),
        pytest.param([], [], {"algorithm": "magic"}, "algorithm", id="unknown-algorithm"),
        pytest.param([Endpoint("u0", "a1", 1.0), Endpoint("u1", "a1", -1.0)], [], {},
                     "upstream[1].velocity", id="negative-velocity"),
    ],
)
def test_invalid_input_names_the_culprit(up, down, kwargs, field):
    with pytest.raises(MatchingInputError) as caught:
        match_services(up, down, NODES, **kwargs)
    assert caught.value.field == field


# Issue 16 item 9: integer velocities are matched exactly, whatever their size.

@pytest.mark.parametrize("algorithm", ["hierarchical", "exact"])
def test_a_velocity_of_one_beside_1e12_is_matched(algorithm):
    up = [Endpoint("u0", "a1", 10**12), Endpoint("u1", "c1", 1)]
    down = [Endpoint("d0", "a1", 10**12), Endpoint("d1", "c1", 1)]
    matching = match_services(up, down, NODES, algorithm=algorithm)
    assert [(f.upstream, f.downstream, f.amount, f.cost) for f in matching.flows] == [
        ("u0", "d0", 10**12, 0), ("u1", "d1", 1, 0)]
    assert matching.total_flow == 10**12 + 1


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_velocities_past_2_to_the_53_keep_every_digit(algorithm):
    big = 2**53 + 1  # float(big) == 2**53
    up = [Endpoint("u0", "a1", big), Endpoint("u1", "b1", big)]
    down = [Endpoint("d0", "c1", 2 * big + 1)]
    matching = match_services(up, down, NODES, algorithm=algorithm)
    assert matching.total_flow == 2 * big and type(matching.total_flow) is int
    assert matching.total_cost == 6 * 2 * big
    assert [f.amount for f in matching.flows] == [big, big]
    assert ServiceMatching.from_dict(matching.to_dict()) == matching


def test_decimal_and_float_velocities_share_one_exact_unit():
    up = [Endpoint("u0", "a1", Decimal("0.1")), Endpoint("u1", "a2", 0.5)]
    down = [Endpoint("d0", "a1", Decimal("0.6"))]
    matching = match_services(up, down, NODES)
    assert [(f.upstream, f.amount) for f in matching.flows] == [("u0", 0.1), ("u1", 0.5)]
    assert matching.total_flow == 0.6 and matching.total_cost == 2 * 0.5


def test_a_cap_past_2_to_the_53_is_exact():
    up = [Endpoint("u0", "a1", 2**60)]
    down = [Endpoint("d0", "a1", 2**60), Endpoint("d1", "c1", 2**60)]
    matching = match_services(up, down, NODES, caps={("u0", "d0"): 2**53 + 1})
    assert [(f.downstream, f.amount) for f in matching.flows] == [
        ("d0", 2**53 + 1), ("d1", 2**60 - 2**53 - 1)]


@st.composite
def big_services(draw):
    names = sorted(NODES)
    velocity = st.one_of(st.integers(0, 10), st.integers(0, 10**12))

    def side(prefix):
        count = draw(st.integers(1, 6))
        return [Endpoint(f"{prefix}{k}", draw(st.sampled_from(names)), draw(velocity))
                for k in range(count)]

    return side("u"), side("d")


@settings(max_examples=100, deadline=None)
@given(big_services(), st.sampled_from(["hierarchical", "exact"]))
def test_matching_equals_networkx_on_integer_velocities_up_to_1e12(services, algorithm):
    up, down = services
    matching = match_services(up, down, NODES, algorithm=algorithm)
    costs = distance_matrix([NODES[e.node].path for e in up], [NODES[e.node].path for e in down])
    oracle = networkx_min_cost_max_flow([e.velocity for e in up], [e.velocity for e in down],
                                        costs)
    assert (matching.total_flow, matching.total_cost) == (oracle.total_flow, oracle.total_cost)
    for endpoints, side in ((up, "upstream"), (down, "downstream")):
        totals = per_service_totals(matching, endpoints, side)
        assert all(totals[e.service_id] <= e.velocity for e in endpoints)
