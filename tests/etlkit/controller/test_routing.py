"""Routes from a matching, followed record by record, priced by what was sent."""
import doctest

import pytest

from etlkit.controller import routing
from etlkit.controller.routing import (LinkRoutes, RoutePicker, RouteSplitter, link_routes,
                                       measured_cost)
from etlkit.scheduler import Endpoint, NodeTopology, match_services

NODES = {"node-a": NodeTopology("node-a", "local", "zone-1", "node-a"),
         "node-b": NodeTopology("node-b", "local", "zone-1", "node-b"),
         "node-c": NodeTopology("node-c", "local", "zone-2", "node-c")}
UP = [Endpoint("u1", "node-a", 100.0), Endpoint("u2", "node-a", 100.0),
      Endpoint("u3", "node-c", 100.0)]
DOWN = [Endpoint("d1", "node-a", 100.0), Endpoint("d2", "node-b", 100.0),
        Endpoint("d3", "node-c", 100.0)]


def test_docstrings():
    assert doctest.testmod(routing).failed == 0


def _routes(algorithm="hierarchical"):
    return link_routes("up", "down", match_services(UP, DOWN, NODES, algorithm=algorithm), UP, DOWN)


def test_routes_keep_the_nodes_of_both_ends_and_the_plans_cost():
    routes = _routes()
    # node-a supplies 200 with room for 100 at home: 100 stays (0), 100 crosses to node-b in
    # the same zone (2); node-c's 100 stays home.
    assert routes.node_weights("node-a") == {"node-a": 100.0, "node-b": 100.0}
    assert routes.node_weights("node-c") == {"node-c": 100.0}
    assert routes.cost_per_record == pytest.approx(200.0 / 300.0)
    assert LinkRoutes.from_dict(routes.to_dict()) == routes


@pytest.mark.parametrize("weights, picks", [
    ({"a": 1.0}, 5),
    ({"a": 3.0, "b": 1.0}, 400),
    ({"a": 0.2, "b": 0.3, "c": 0.5}, 1000),
    ({"a": 1.0, "b": 0.0}, 10),  # a zero weight is never chosen
], ids=["one-target", "three-to-one", "fractions", "zero-weight"])
def test_every_prefix_of_picks_is_within_one_of_the_weights(weights, picks):
    picker = RoutePicker(weights)
    total = sum(weights.values())
    counts = dict.fromkeys(weights, 0)
    for n in range(1, picks + 1):
        counts[picker.pick()] += 1
        for target, w in weights.items():
            assert abs(counts[target] - n * w / total) <= 1.0


def test_the_splitter_sends_each_origins_records_by_its_routes_and_counts_them():
    splitter = RouteSplitter(_routes(), {"node-a": ["d1"], "node-b": ["d2"], "node-c": ["d3"]})
    for _ in range(200):
        splitter.assign("node-a")
    for _ in range(100):
        splitter.assign("node-c")
    assert splitter.counters.counts == {("node-a", "node-a"): 100, ("node-a", "node-b"): 100,
                                        ("node-c", "node-c"): 100}
    assert measured_cost(splitter.counters.counts, NODES) == pytest.approx(_routes().cost_per_record)


def test_unknown_origins_and_vanished_nodes_fall_back_to_what_runs():
    # node-b's replica is gone: node-a's share for it goes to node-a (its only other route).
    splitter = RouteSplitter(_routes(), {"node-a": ["d1", "d4"], "node-c": ["d3"]})
    assert {splitter.assign("node-a")[0] for _ in range(10)} == {"node-a"}
    # Same-node replicas take turns.
    assert [splitter.assign("node-a")[1] for _ in range(4)] == ["d1", "d4", "d1", "d4"]
    # A record with no origin follows the downstream nodes' overall shares (a: 1, c: 1 here).
    picked = [splitter.assign(None)[0] for _ in range(4)]
    assert sorted(picked) == ["node-a", "node-a", "node-c", "node-c"]
    with pytest.raises(ValueError, match="no downstream replica"):
        RouteSplitter(_routes(), {"node-a": []})

