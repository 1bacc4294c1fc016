"""Actions from a plan, all or none, and the memory bound to what the platform runs."""
from etlkit.controller.apply import Place, Scale, actions_of, execute, rebind
from etlkit.controller.config import parse_scaling
from etlkit.controller.gather import Samples, gather, units_of
from etlkit.controller.planning import plan_tick
from etlkit.controller.ports import FunctionReplicas, Replica
from etlkit.scheduler import AddedService, ControllerState, OperationState

from .fakes import Platform, Topics
from .test_tick import G_RAW, RAW, config, envelope


def _plan(platform, topics, previous=Samples(), now=15.0, **bounds):
    spec = parse_scaling(envelope(**bounds))
    units = units_of(spec)
    gathered = gather(spec, units, previous, offsets=topics, cluster=platform, metrics=platform,
                      now=now)
    return gathered, plan_tick(gathered, config(), ControllerState(), interval_s=15.0,
                               last_change={}, now=now)


def _backlogged():
    platform = Platform({"filter": ["node-a"], "map": ["node-b"]})
    topics = Topics()
    first, _ = _plan(platform, topics, now=0.0)
    topics.produce(RAW, 6000)
    topics.consume(G_RAW, RAW, 1500)
    platform.busy["filter"] = 15.0
    return platform, topics, first.samples


def test_applying_the_same_plan_twice_changes_nothing():
    platform, topics, samples = _backlogged()
    gathered, plan = _plan(platform, topics, samples)
    current = {m.unit.function: m.function for m in gathered.units}
    actions = actions_of(plan, current)
    assert [a.describe() for a in actions] == ["scale filter 1 -> 3"]
    assert execute(platform, actions).ok
    after = {f: platform.function(f) for f in current}
    assert actions_of(plan, after) == []
    assert execute(platform, actions_of(plan, after)).applied == ()
    assert platform.calls == [("scale", "filter", 3)]


def test_scale_ins_go_first_and_placement_before_its_scale():
    platform = Platform({"filter": ["node-a"] * 4, "map": ["node-b"]}, keeps_placement=True)
    platform.placement = {"filter": {"node-a": 4}, "map": {"node-b": 1}}
    platform.busy = {"filter": 0.0, "map": 0.0}
    topics = Topics()
    first, _ = _plan(platform, topics, now=0.0, max_replicas=3)
    topics.produce("orders-paid", 30000)
    topics.consume("faas-etl.orders.orders-paid", "orders-paid", 1500)
    platform.busy["map"] = 15.0
    gathered, plan = _plan(platform, topics, first.samples, max_replicas=3)
    actions = actions_of(plan, {m.unit.function: m.function for m in gathered.units})
    # filter runs 4, above its bound of 3 (scale in, same node set); map is behind (its
    # placement widens to new nodes, then it scales out).
    assert [a.describe() for a in actions] == [
        "scale filter 4 -> 3", "place map on node-b: 2, node-c: 1", "scale map 1 -> 3"]


def test_a_failure_reverts_the_earlier_actions_newest_first():
    platform = Platform({"filter": ["node-a"], "map": ["node-b"]}, keeps_placement=True)
    platform.fail_on = {"map"}
    actions = [Scale("filter", 1, 3, "r"), Place("filter", {"node-a": 1}, {"node-a": 2, "node-c": 1}, "r"),
               Scale("map", 1, 2, "r")]
    outcome = execute(platform, actions)
    assert not outcome.ok and outcome.failed == actions[2] and "HTTP 500" in outcome.error
    assert platform.calls[-2:] == [("place", "filter", {"node-a": 1}), ("scale", "filter", 1)]
    assert len(platform.replicas["filter"]) == 1


def test_rebind_ties_remembered_replicas_to_running_ones():
    before = {"map": FunctionReplicas("map", 2, (Replica("m-1", "node-a"), Replica("m-7", "node-a")))}
    running = {"map": FunctionReplicas("map", 4, (
        Replica("m-1", "node-a"), Replica("m-7", "node-a"), Replica("m-20", "node-b"),
        Replica("m-21", "node-a")))}
    out = rebind(ControllerState(operations={"map": OperationState(added=(
        AddedService("m-7", "node-a", 1.0), AddedService("map-0", "node-b", 5.0),
        AddedService("map-1", "node-c", 5.0)))}), running, before)
    added = out.state.operation("map").added
    # m-7 still runs; map-0 became the new replica on node-b; map-1 was planned on node-c but
    # the platform put it on node-a (reported).
    assert [(a.service_id, a.node) for a in added] == [("m-7", "node-a"), ("m-20", "node-b"),
                                                      ("m-21", "node-a")]
    assert out.notes == ("map: a replica planned on node-c runs on node-a",)


def test_rebind_keeps_a_replica_whose_pod_is_not_running_yet():
    state = ControllerState(operations={"map": OperationState(added=(
        AddedService("map-3", "node-c", 5.0),))})
    running = {"map": FunctionReplicas("map", 2, (Replica("m-1", "node-a"),))}
    out = rebind(state, running, {"map": running["map"]})
    # m-1 is the original (already running before): still free, so it is bound...
    assert [a.service_id for a in out.state.operation("map").added] == ["m-1"]
    # ...unless nothing is free: then the entry stays as it was, to be bound once it runs.
    claimed = ControllerState(operations={"map": OperationState(added=(
        AddedService("m-1", "node-a", 1.0), AddedService("map-3", "node-c", 5.0)))})
    out = rebind(claimed, running, {"map": running["map"]})
    assert [a.service_id for a in out.state.operation("map").added] == ["m-1", "map-3"]
    assert out.notes == ("map: replica map-3 planned on node-c is not running yet",)
