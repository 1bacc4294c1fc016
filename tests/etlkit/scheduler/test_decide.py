"""The entry point end to end: plans, reasons, persisted state, determinism, no clock."""
import json
import time

import pytest

from etlkit.scheduler import decide as decide_module
from etlkit.scheduler.decide import decide
from etlkit.scheduler.observation import Node, Observation, Operation, Pipeline, Service
from etlkit.scheduler.policy import Policy
from etlkit.scheduler.state import ControllerState

NODES = (Node("n0", "eu", "a", "n0", capacity=8), Node("n1", "eu", "a", "n1", capacity=8),
         Node("n2", "eu", "b", "n2", capacity=8))
POLICY = Policy(scale_out_headroom=0.0, dead_band=0.2, scale_in_hold_s=60.0, window=10)


def observe(rate, backlog, transform=(), load=(), source="orders"):
    """A two-operation pipeline; services are (id, node, ready) with 100 / 250 rec/s."""
    ops = (Operation("transform", tuple(Service(i, n, 100.0 if r else 0.0, r)
                                        for i, n, r in transform), nominal_velocity=100.0),
           Operation("load", tuple(Service(i, n, 250.0 if r else 0.0, r) for i, n, r in load),
                     weight=0.5, nominal_velocity=250.0))
    return Observation((Pipeline(source, rate, backlog, ops),), NODES)


BASE = {"transform": [("t-base", "n0", True)], "load": [("l-base", "n1", True)]}


def running(plan, before):
    """Services after applying ``plan`` to ``before`` (new ones ready at once)."""
    after = {op: [s for s in services if s[0] not in {r.service_id for r in plan.removals}]
             for op, services in before.items()}
    for p in plan.placements:
        after[p.operation].append((p.service_id, p.node, True))
    return after


def test_first_tick_scales_out_every_slow_operation_with_reasons():
    plan = decide(observe(430.0, 15_000.0, BASE["transform"], BASE["load"]), POLICY,
                  ControllerState(), now=0.0)
    assert plan.targets == {"transform": 5, "load": 2}
    assert [p.service_id for p in plan.placements] == [
        "transform-0", "transform-1", "transform-2", "transform-3", "load-0"]
    assert not plan.removals
    (pipeline,) = plan.pipelines
    assert pipeline.required_rate == pytest.approx(430.0)
    assert pipeline.velocity == 100.0
    assert "orders" in pipeline.reason and "430.0" in pipeline.reason
    assert all(d.operation in d.reason for d in plan.operations)


def test_placements_spread_over_the_least_loaded_nodes():
    plan = decide(observe(430.0, 15_000.0, BASE["transform"], BASE["load"]), POLICY,
                  ControllerState(), now=0.0)
    # Loads n0 1.0 (transform), n1 0.5 (load), n2 0: transform (weight 1) goes to n2, n1,
    # then n0 and n2 tie at 1.0 (name decides), then n2; load (0.5) to n1, now the lightest.
    assert [p.node for p in plan.placements] == ["n2", "n1", "n0", "n2", "n1"]


def test_the_matching_links_adjacent_operations_after_the_plan():
    plan = decide(observe(430.0, 15_000.0, BASE["transform"], BASE["load"]), POLICY,
                  ControllerState(), now=0.0)
    (link,) = plan.links
    assert (link.upstream, link.downstream) == ("transform", "load")
    assert link.matching.total_flow == 500.0  # min(5 * 100, 2 * 250)
    no_match = decide(observe(430.0, 15_000.0, BASE["transform"], BASE["load"]),
                      Policy(match_services=False), ControllerState(), now=0.0)
    assert no_match.links == ()


def test_state_survives_json_and_drives_the_next_tick():
    services = dict(BASE)
    plan = decide(observe(430.0, 15_000.0, services["transform"], services["load"]), POLICY,
                  ControllerState(), now=0.0)
    state = ControllerState.from_dict(json.loads(json.dumps(plan.state.to_dict())))
    assert state == plan.state
    services = running(plan, services)
    # Production falls: after the hold, the newest added services go, never the base ones.
    now, removed = 0.0, []
    for _ in range(12):
        now += 10.0
        plan = decide(observe(120.0, 0.0, services["transform"], services["load"]), POLICY,
                      state, now)
        state = plan.state
        removed += [r.service_id for r in plan.removals]
        services = running(plan, services)
    assert "t-base" not in removed and "l-base" not in removed
    assert [s[0] for s in services["transform"]] == ["t-base"]
    assert removed[0] == "transform-3"


def test_an_added_service_that_vanished_is_forgotten():
    plan = decide(observe(430.0, 15_000.0, BASE["transform"], BASE["load"]), POLICY,
                  ControllerState(), now=0.0)
    services = running(plan, BASE)
    services["transform"] = [s for s in services["transform"] if s[0] != "transform-1"]
    later = decide(observe(430.0, 15_000.0, services["transform"], services["load"]), POLICY,
                   plan.state, now=10.0)
    added = [a.service_id for a in later.state.operation("transform").added]
    assert "transform-1" not in added
    assert later.placements[0].service_id == "transform-4"  # ids are never reused


def test_an_idle_source_goes_to_zero_then_wakes_up():
    policy = Policy(idle_after_s=30.0, window=10)
    services = dict(BASE)
    state, now = ControllerState(), 0.0
    for _ in range(4):
        plan = decide(observe(0.0, 0.0, services["transform"], services["load"]), policy,
                      state, now)
        state, services, now = plan.state, running(plan, services), now + 10.0
    assert plan.targets == {"transform": 0, "load": 0}
    assert {r.service_id for r in plan.removals} == {"t-base", "l-base"}
    assert all(p.idle for p in plan.pipelines)
    woken = decide(observe(150.0, 500.0, services["transform"], services["load"]), policy,
                   state, now)
    assert woken.targets["transform"] >= 1 and woken.targets["load"] >= 1


def test_output_does_not_depend_on_the_order_pipelines_are_listed_in():
    a = observe(430.0, 15_000.0, BASE["transform"], BASE["load"], source="a").pipelines[0]
    ops = tuple(Operation(f"{op.name}-b", (), nominal_velocity=50.0) for op in a.operations)
    b = Pipeline("b", 100.0, 0.0, ops)
    forward = decide(Observation((a, b), NODES), POLICY, ControllerState(), now=0.0)
    backward = decide(Observation((b, a), NODES), POLICY, ControllerState(), now=0.0)
    assert forward == backward
    assert [p.source for p in forward.pipelines] == ["a", "b"]


def test_no_clock_is_read(monkeypatch):
    def forbidden(*_args):
        raise AssertionError("decide read a clock")

    for name in ("time", "monotonic", "perf_counter"):
        monkeypatch.setattr(time, name, forbidden)
    decide(observe(430.0, 15_000.0, BASE["transform"], BASE["load"]), POLICY,
           ControllerState(), now=0.0)
    assert "time" not in vars(decide_module)


def test_new_ids_never_collide_with_observed_services():
    transform = [("transform-0", "n0", True), ("transform-1", "n1", True)]
    plan = decide(observe(800.0, 15_000.0, transform, BASE["load"]), POLICY, ControllerState(),
                  now=0.0)
    ids = [p.service_id for p in plan.placements if p.operation == "transform"]
    assert ids[:2] == ["transform-2", "transform-3"]
    assert plan.state.operation("transform").next_index == 2 + len(ids)


def test_no_room_on_any_node_is_said_in_the_reason():
    tight = (Node("n0", capacity=1.5),)
    ops = (Operation("transform", (Service("t0", "n0", 100.0),), nominal_velocity=100.0),)
    plan = decide(Observation((Pipeline("s", 500.0, 15_000.0, ops),), tight), POLICY,
                  ControllerState(), now=0.0)
    assert plan.targets == {"transform": 1}
    assert "no node has room" in plan.operations[0].reason
