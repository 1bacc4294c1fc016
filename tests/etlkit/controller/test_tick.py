"""One tick end to end over test doubles: gather -> decide -> match -> apply -> save.

The doubles are a few lines each (tests/etlkit/controller/fakes.py); what is asserted are real
outcomes: replica counts and nodes on the platform, the record in the store, the reasons.
"""
import json

import pytest

from etlkit.controller import ControllerConfig, ControllerRecord, Edges, parse_scaling, run_tick

from .fakes import InlineMatcher, MemoryStore, Platform, Topics

RAW, PAID = "orders-raw", "orders-paid"
G_RAW, G_PAID = "faas-etl.orders.orders-raw", "faas-etl.orders.orders-paid"


def envelope(max_replicas=5, min_replicas=1, dtc=30000):
    return {"workflow": "orders", "version": 1, "scaling": {"interval_ms": 15000, "operations": [
        {"name": "paid-only", "function": "filter",
         "inputs": [{"topic": RAW, "consumer_group": G_RAW}],
         "min_replicas": min_replicas, "max_replicas": max_replicas, "dtt_ms": 60000, "dtc": dtc},
        {"name": "normalise", "function": "map",
         "inputs": [{"topic": PAID, "consumer_group": G_PAID}],
         "min_replicas": min_replicas, "max_replicas": max_replicas, "dtt_ms": 60000,
         "dtc": dtc}]}}


def config(**env):
    return ControllerConfig.from_env({
        "PLATFORM": "local", "OPENFAAS_URL": "http://127.0.0.1:8080",
        "KAFKA_BOOTSTRAP": "127.0.0.1:9092", "TOPOLOGY_FILE": "config/topology.yml",
        "SCALING_POLICY": json.dumps({"scale_in_hold_s": 0, "scale_in_refill_s": 60,
                                      "idle_after_s": 30, "forecast": "last"}), **env})


class World:
    """Kafka topics, a platform and a store, and a controller ticking over them."""

    def __init__(self, **env):
        self.topics = Topics()
        self.platform = Platform({"filter": ["node-a"], "map": ["node-b"]})
        self.store = MemoryStore()
        self.matcher = InlineMatcher()
        self.config = config(**env)
        self.now = 0.0

    def edges(self):
        return Edges(self.topics, self.platform, self.platform, self.platform, self.matcher,
                     self.store)

    def traffic(self, seconds, produced, filter_rate, map_rate, filter_velocity=100.0,
                map_velocity=500.0):
        """``seconds`` of records/s in, through filter (half kept) and map."""
        self.topics.produce(RAW, int(produced * seconds))
        through = int(filter_rate * seconds)
        self.topics.consume(G_RAW, RAW, through)
        self.topics.produce(PAID, through // 2)
        self.platform.busy["filter"] += through / filter_velocity
        done = min(int(map_rate * seconds), through // 2)
        self.topics.consume(G_PAID, PAID, done)
        self.platform.busy["map"] += done / map_velocity
        self.now += seconds

    def tick(self, spec=None, dry_run=False):
        return run_tick(parse_scaling(spec or envelope()), self.config, self.edges(),
                        now=self.now, dry_run=dry_run)

    def record(self):
        return ControllerRecord.loads(self.store.values["orders"])

    def nodes(self, function):
        return sorted(r.node for r in self.platform.replicas[function])


@pytest.fixture
def world():
    w = World()
    first = w.tick()
    assert first.status == "unchanged"
    return w


def test_the_first_tick_holds_every_function_until_a_rate_can_be_measured():
    w = World()
    result = w.tick()
    assert result.status == "unchanged" and result.targets == {}
    assert all("input rate not measured yet (first sample" in r for r in result.reasons)
    assert w.platform.calls == []
    assert w.record().samples.topics[RAW].at == 0.0  # the next tick measures against this


def test_a_backlog_scales_out_and_new_replicas_land_on_the_least_loaded_nodes(world):
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    result = world.tick()
    assert result.status == "applied"
    assert result.targets == {"filter": 3, "map": 1}
    assert world.platform.calls == [("scale", "filter", 3)]
    # node-a has filter, node-b map: node-c first, then node-a (ties go by name).
    assert world.nodes("filter") == ["node-a", "node-a", "node-c"]
    assert not [n for n in result.notes if "planned" in n]  # landed where planned
    (filter_m, _) = result.measurements
    assert filter_m["production_rate"] == 400.0 and filter_m["velocity"] == 100.0
    assert filter_m["backlog"] == 15 * 300
    reason = next(r for r in result.reasons if r.startswith("filter: velocity"))
    assert "100.0 < required" in reason and "paid-only" in reason
    assert world.record().last_tick["status"] == "applied"


def test_the_memory_binds_added_replicas_to_the_ids_the_platform_gave_them(world):
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    world.tick()
    added = world.record().scheduler.operation("filter").added
    running = {(r.id, r.node) for r in world.platform.replicas["filter"]}
    assert len(added) == 2 and {(a.service_id, a.node) for a in added} <= running
    assert "filter-100" not in {a.service_id for a in added}  # the original is never "added"


def test_a_restarted_controller_carries_on_and_removes_only_what_it_added(world):
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    world.tick()
    world.traffic(15, produced=300, filter_rate=300, map_rate=200)
    # A new process: new clients and matcher, the same store (the record is all it has).
    world.matcher = InlineMatcher()
    world.traffic(15, produced=20, filter_rate=600, map_rate=300)
    world.traffic(15, produced=20, filter_rate=600, map_rate=300)
    world.tick()
    world.traffic(15, produced=20, filter_rate=600, map_rate=300)
    result = world.tick()
    assert result.targets["filter"] == 1, result.reasons
    assert [r.id for r in world.platform.replicas["filter"]] == ["filter-100"]


def test_a_dry_run_returns_the_plan_and_neither_applies_nor_saves(world):
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    before = dict(world.store.values)
    result = world.tick(dry_run=True)
    assert result.status == "planned" and result.dry_run
    assert result.actions == ("scale filter 1 -> 3",)
    assert result.plan["placements"] and "would 1 action" in result.reason
    assert world.platform.calls == [] and world.store.values == before


@pytest.mark.parametrize("edge", ["kafka", "gateway"])
def test_a_tick_that_cannot_reach_an_edge_changes_nothing_and_says_why(world, edge):
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    before = dict(world.store.values)
    (world.topics if edge == "kafka" else world.platform).down = True
    result = world.tick()
    assert result.status == "unreachable"
    assert result.reason.startswith(f"cannot gather, nothing changed: {edge}:")
    assert world.platform.calls == [] and world.store.values == before


def test_a_failed_apply_reverts_what_it_did_and_keeps_the_memory(world):
    world.traffic(15, produced=800, filter_rate=100, map_rate=10, map_velocity=10.0)
    memory = world.record().scheduler
    world.platform.fail_on = {"map"}
    result = world.tick(envelope(dtc=1000))
    assert result.status == "failed", result.reasons
    assert "apply failed at 'scale map 1 -> " in result.reason and "HTTP 500" in result.reason
    assert len(world.platform.replicas["filter"]) == 1  # scaled out, then reverted
    assert world.record().scheduler == memory
    assert world.record().last_tick["status"] == "failed"  # status shows why


def test_when_the_memory_cannot_be_saved_the_apply_is_reverted(world):
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    world.store.fail_save = True
    result = world.tick()
    assert result.status == "failed" and "state not saved" in result.reason
    assert len(world.platform.replicas["filter"]) == 1


def test_bounds_are_never_exceeded(world):
    world.traffic(15, produced=5000, filter_rate=100, map_rate=200)
    result = world.tick(envelope(max_replicas=4))
    assert result.targets["filter"] == 4 and len(world.platform.replicas["filter"]) == 4
    # Scaled by hand beyond the bound: brought back.
    world.platform.scale("map", 7)
    world.traffic(15, produced=400, filter_rate=400, map_rate=200)
    result = world.tick(envelope(max_replicas=4))
    assert len(world.platform.replicas["map"]) == 4
    assert "brought to max_replicas 4" in " ".join(result.reasons)


@pytest.mark.parametrize("allowed, replicas", [("true", 0), ("false", 1)],
                         ids=["platform-scales-to-zero", "community-edition"])
def test_an_idle_source_goes_to_zero_only_where_the_platform_allows(allowed, replicas):
    w = World(SCALE_TO_ZERO=allowed)
    w.tick()
    for _ in range(5):
        w.now += 15  # no records at all, no backlog
        result = w.tick()
    assert len(w.platform.replicas["filter"]) == replicas, result.reasons
    # Traffic again: back to at least one replica.
    w.traffic(15, produced=100, filter_rate=0, map_rate=0)
    w.tick()
    assert len(w.platform.replicas["filter"]) >= 1


def test_the_matching_routes_adjacent_functions_after_the_plan(world):
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    result = world.tick()
    (route,) = result.routes
    assert (route["upstream"], route["downstream"]) == ("filter", "map")
    assert route["total_flow"] == pytest.approx(min(3 * 100.0, 500.0))
    assert world.record().routes == list(result.routes)


def test_a_function_the_platform_does_not_run_is_held_and_the_others_go_on(world):
    spec = envelope()
    spec["scaling"]["operations"].append({
        "name": "with-customer", "function": "enrich",
        "inputs": [{"topic": "orders-clean", "consumer_group": "g-clean"}],
        "min_replicas": 1, "max_replicas": 5, "dtt_ms": 60000, "dtc": 30000})
    world.tick(spec)
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    result = world.tick(spec)
    assert result.status == "applied" and result.targets == {"filter": 3, "map": 1}
    assert "enrich: held, function enrich is not deployed" in result.reasons


def test_bounds_apply_from_the_first_tick_even_before_a_rate_is_known():
    w = World()
    result = w.tick(envelope(min_replicas=3))
    assert result.targets == {"filter": 3, "map": 3}
    assert len(w.platform.replicas["filter"]) == 3
    assert any("held (input rate not measured yet" in r and "set to min_replicas 3" in r
               for r in result.reasons)


def test_a_count_reset_behind_the_controllers_back_is_set_back_on_the_next_tick(world):
    """faas-netes sets replicas to com.openfaas.scale.min on every deploy (openfaas/faas-netes
    0.18.17 pkg/handlers/update.go updateDeploymentSpec): the next tick finds 1 where it set 3,
    sets 3 back and says why."""
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    assert world.tick().targets["filter"] == 3
    world.platform.calls.clear()
    world.platform.scale("filter", 1)  # the deploy
    world.platform.calls.clear()
    world.traffic(15, produced=400, filter_rate=100, map_rate=200)
    result = world.tick()
    assert result.status == "applied"
    assert world.platform.calls == [("scale", "filter", 3)]
    assert any(r.startswith("scale filter 1 -> 3: filter because filter: 1 replicas desired, but "
                            "the controller last set 3: changed outside it") for r in result.reasons)
    # The two replicas it added are remembered, bound to the ones now running.
    added = world.record().scheduler.operation("filter").added
    assert len(added) == 2 and {a.service_id for a in added} <= {
        r.id for r in world.platform.replicas["filter"]}
