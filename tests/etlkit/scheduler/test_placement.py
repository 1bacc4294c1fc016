"""GLB placement: least-loaded node, one service at a time, capacity respected."""
import math

from etlkit.scheduler.observation import Node, Operation, Service
from etlkit.scheduler.placement import choose_removals, node_loads, place_services
from etlkit.scheduler.state import AddedService


def nodes(*capacities, background=0.0):
    return [Node(f"n{k}", capacity=c, background_load=background)
            for k, c in enumerate(capacities)]


def test_loads_sum_weights_and_background():
    ns = nodes(math.inf, math.inf, background=0.5)
    ops = [Operation("a", (Service("a1", "n0"), Service("a2", "n0")), weight=2.0),
           Operation("b", (Service("b1", "n1"),), weight=0.25)]
    assert node_loads(ns, ops) == {"n0": 4.5, "n1": 0.75}


def test_new_services_spread_one_at_a_time():
    ns = nodes(10, 10, 10)
    loads = {"n0": 2.0, "n1": 0.0, "n2": 1.0}
    assert place_services(4, 1.0, ns, loads) == ["n1", "n1", "n2", "n0"]
    assert loads == {"n0": 3.0, "n1": 2.0, "n2": 2.0}


def test_relative_load_favours_the_bigger_node():
    ns = nodes(4, 16)
    loads = {"n0": 1.0, "n1": 2.0}  # 25% vs 12.5%
    assert place_services(1, 1.0, ns, loads) == ["n1"]


def test_capacity_is_respected_and_overflow_is_reported_by_a_short_list():
    ns = nodes(2, 1)
    loads = {"n0": 1.0, "n1": 0.5}
    assert place_services(3, 0.5, ns, loads) == ["n1", "n0", "n0"]
    assert place_services(1, 0.5, ns, loads) == []


def test_removal_takes_the_most_loaded_node_then_the_newest():
    ns = {n.name: n for n in nodes(10, 10)}
    loads = {"n0": 3.0, "n1": 5.0}
    added = [AddedService("s1", "n1", 0.0), AddedService("s2", "n0", 1.0),
             AddedService("s3", "n1", 2.0)]
    picked = choose_removals(2, 1.0, added, ns, loads)
    assert [a.service_id for a in picked] == ["s3", "s1"]
    assert loads == {"n0": 3.0, "n1": 3.0}


def test_removal_never_takes_more_than_the_candidates():
    ns = {n.name: n for n in nodes(10)}
    picked = choose_removals(5, 1.0, [AddedService("s1", "n0", 0.0)], ns, {"n0": 1.0})
    assert [a.service_id for a in picked] == ["s1"]
