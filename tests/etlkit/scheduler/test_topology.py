"""Topology distance from node labels, and the hierarchical exact matcher that relies on it."""
import numpy as np
import pytest

from etlkit.scheduler.baselines import greedy_pairs
from etlkit.scheduler.errors import MatchingInputError, ObservationError
from etlkit.scheduler.hierarchical import hierarchical_transport
from etlkit.scheduler.mincostflow import min_cost_max_flow
from etlkit.scheduler.topology import NodeTopology, distance_matrix, topology_distance

N1 = NodeTopology("n1", "eu", "eu-a", "n1")
N2 = NodeTopology("n2", "eu", "eu-a", "n2")
N3 = NodeTopology("n3", "eu", "eu-b", "n3")
N4 = NodeTopology("n4", "us", "eu-a", "n4")  # same zone name, other region


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        pytest.param(N1, N1, 0, id="same-host"),
        pytest.param(N1, N2, 2, id="same-zone"),
        pytest.param(N1, N3, 4, id="same-region"),
        pytest.param(N1, N4, 6, id="zone-name-reused-in-another-region"),
        pytest.param(NodeTopology("x"), NodeTopology("x"), 0, id="unlabelled-same-node"),
        pytest.param(NodeTopology("x"), NodeTopology("y"), 6, id="unlabelled-nodes-share-nothing"),
        pytest.param(NodeTopology("x", "eu"), NodeTopology("y", "eu"), 4,
                     id="missing-zone-is-unique-not-shared"),
    ],
)
def test_distance_follows_the_label_hierarchy(a, b, distance):
    assert topology_distance(a.path, b.path) == distance
    assert distance_matrix([a.path], [b.path])[0, 0] == distance


def test_a_node_needs_a_name():
    with pytest.raises(ObservationError) as caught:
        NodeTopology("")
    assert caught.value.field == "node.name"


def test_the_note_example_is_solved_exactly():
    # U1@n1, U2@n2 (rack A), D1@n2, D2@n3 (rack B): per-service matchers pay 6, optimum 4.
    a1 = NodeTopology("n1", "dc1", "rA", "n1").path
    a2 = NodeTopology("n2", "dc1", "rA", "n2").path
    b2 = NodeTopology("n3", "dc1", "rB", "n3").path
    result = hierarchical_transport([1, 1], [1, 1], [a1, a2], [a2, b2])
    np.testing.assert_array_equal(result.flow, [[0, 1], [1, 0]])
    assert result.total_cost == 4.0


def test_paths_must_match_the_instance():
    with pytest.raises(MatchingInputError) as caught:
        hierarchical_transport([1, 1], [1], [N1.path], [N2.path])
    assert caught.value.field == "up_paths"


def random_topology_instance(rng):
    regions, zones = ["r0", "r1", None], ["z0", "z1", "z2", None]
    nodes = [NodeTopology(f"n{k}", regions[rng.integers(3)], zones[rng.integers(4)],
                          f"n{k}" if rng.random() < 0.9 else None)
             for k in range(int(rng.integers(1, 12)))]
    m, n = (int(v) for v in rng.integers(0, 14, size=2))
    up = [nodes[rng.integers(len(nodes))].path for _ in range(m)]
    down = [nodes[rng.integers(len(nodes))].path for _ in range(n)]
    return rng.integers(0, 20, m), rng.integers(0, 20, n), up, down


@pytest.mark.parametrize("seed", range(200), ids=lambda s: f"seed-{s}")
def test_hierarchical_and_cheapest_pair_first_equal_the_exact_solver(seed):
    supplies, demands, up, down = random_topology_instance(np.random.default_rng(seed))
    costs = distance_matrix(up, down)
    exact = min_cost_max_flow(supplies, demands, costs)
    fast = hierarchical_transport(supplies, demands, up, down)
    greedy = greedy_pairs(supplies, demands, costs)
    assert (fast.total_flow, fast.total_cost) == (exact.total_flow, exact.total_cost)
    assert (greedy.total_flow, greedy.total_cost) == (exact.total_flow, exact.total_cost)
    assert float((fast.flow * costs).sum()) == fast.total_cost  # costs recorded per pair
