"""The dashboard's view: rates, totals over replicas that come and go, scale events and their
reasons, decisions, the plan. Pure: hand-made rounds, exact numbers."""
import pytest

from devstack.dashboard.scrape import FunctionState, Instance, Scrape, StepRef, TopicState, WatchList
from devstack.dashboard.view import CounterTotals, Tracker, gateway_calls, scale_reason

WATCH = WatchList(
    workflows=("orders",), topics=("raw", "paid", "dlq"),
    groups={"raw": ("faas-etl.orders.raw",), "paid": ("faas-etl.orders.paid",)},
    steps=(StepRef("orders", "paid-only", "filter", "filter", ("raw",), "paid"),
           StepRef("orders", "sink", "sink", "warehouse-loader", ("paid",), None)),
    tables=("by_country",), dead_letter_topics=("dlq",))


def _records(step, **counts):
    labels = (("step", step), ("workflow", "orders"))
    return {(f"faas_etl_records_{k}_total", labels): float(v) for k, v in counts.items()}


def _filter(*ids, replicas=None):
    instances = tuple(Instance(i, f"node-{n}") for n, i in enumerate(ids))
    return FunctionState("filter", len(ids) if replicas is None else replicas, len(ids), instances)


def _round(at, *, raw=0, paid=0, committed=None, replicas=None, functions=(), controller=None,
           gateway=None):
    topics = {"raw": TopicState("raw", {0: raw}, {0: 0}, {"faas-etl.orders.raw": committed or {}}),
              "paid": TopicState("paid", {0: paid}, {0: 0}, {}),
              "dlq": TopicState("dlq", {0: 2}, {0: 0}, {})}
    return Scrape(at, functions or (_filter("filter-1"),), gateway or {}, replicas or {}, topics,
                  controller or {}, {"by_country": 7})


def test_topic_rate_and_backlog_of_the_slowest_group():
    t = Tracker(WATCH, rate_window_s=5)
    t.update(_round(100.0, raw=0))
    view = t.update(_round(102.0, raw=100, paid=40, committed={0: 30}))
    raw, paid, dlq = view["topics"]
    assert (raw["records"], raw["rate"], raw["backlog"]) == (100, 50.0, 70)
    # No commit yet: the group starts at the low watermark, so all 40 records wait.
    assert (paid["rate"], paid["backlog"]) == (20.0, 40)
    assert dlq["dead_letter"] and view["totals"]["dead_letters"] == 2
    # Ingest counts records entering the pipeline once: "raw" only ("paid" is a step's output).
    assert view["totals"]["ingest_rate"] == 50.0
    assert view["totals"]["backlog"] == 110


def test_a_rate_needs_a_previous_round_inside_the_window():
    t = Tracker(WATCH, rate_window_s=5)
    t.update(_round(100.0, raw=0))
    assert t.update(_round(110.0, raw=500))["topics"][0]["rate"] == 0.0  # 100.0 is too old


def test_step_totals_survive_a_replica_scaled_away_and_one_restarting():
    totals = CounterTotals()
    names = ["faas_etl_records_in_total"]
    series = ("faas_etl_records_in_total", (("step", "s"), ("workflow", "w")))
    totals.update({"a": {series: 10.0}, "b": {series: 5.0}}, names)
    totals.update({"a": {series: 12.0}}, names)  # b was scaled away: its 5 stay counted
    totals.update({"a": {series: 3.0}}, names)  # a restarted: its 12 stay counted
    assert totals.total(series) == 12 + 5 + 3


def test_step_counts_and_rates_from_the_replicas():
    t = Tracker(WATCH, rate_window_s=5)
    first = t.update(_round(100.0))
    # Nothing reported yet: unknown, not zero (a function may not count at all).
    assert first["steps"][0]["in"] is None and first["steps"][1]["in"] is None
    t.update(_round(101.0))
    view = t.update(_round(103.0, raw=10, committed={0: 4}, replicas={
        "filter-1": _records("paid-only", **{"in": 10, "out": 6, "filtered": 3,
                                             "dead_lettered": 1, "emitted": 6})}))
    step = view["steps"][0]
    assert {k: step[k] for k in ("in", "out", "filtered", "dead_lettered", "emitted", "backlog")} == \
        {"in": 10, "out": 6, "filtered": 3, "dead_lettered": 1, "emitted": 6, "backlog": 6}
    # Absent from a round after the first, it was 0 then: 10 records in the 2 s since.
    assert step["rate_in"] == 5.0


def test_a_counter_already_there_in_the_first_round_is_no_rate():
    t = Tracker(WATCH, rate_window_s=5)
    replicas = {"filter-1": _records("paid-only", **{"in": 9000})}
    t.update(_round(100.0, replicas=replicas))
    assert t.update(_round(101.0, replicas=replicas))["steps"][0]["rate_in"] == 0.0


def test_gateway_calls_split_rejected_and_failed_by_function():
    samples = {("gateway_function_invocation_total", (("code", "200"), ("function_name", "filter.openfaas-fn"))): 7.0,
               ("gateway_function_invocation_total", (("code", "404"), ("function_name", "filter.openfaas-fn"))): 2.0,
               ("gateway_function_invocation_total", (("code", "502"), ("function_name", "filter"))): 1.0,
               ("gateway_functions_seconds_sum", (("code", "200"), ("function_name", "filter.openfaas-fn"))): 0.5,
               ("gateway_functions_seconds_count", (("code", "200"), ("function_name", "filter.openfaas-fn"))): 5.0,
               ("gateway_function_invocation_total", (("code", "200"), ("function_name", "x.other-ns"))): 1.0}
    calls = gateway_calls(samples, "openfaas-fn")
    assert calls["filter"] == {"calls": 10.0, "rejected": 2.0, "failed": 1.0, "seconds": 0.5, "timed": 5.0}
    assert "x.other-ns" in calls  # another namespace's function keeps its full name


TICK = {"at": 101.5, "status": "applied", "reason": "did 1 action(s): scale filter 1 -> 3",
        "actions": ["scale filter 1 -> 3"],
        "reasons": ["filter: rate 10 rec/s", "scale filter 1 -> 3: filter because kept at min_replicas 3"],
        "targets": {"filter": 3}}
ROUTES = [{"upstream": "filter", "downstream": "map", "algorithm": "hierarchical",
           "total_flow": 30.0, "total_cost": 20.0, "cost_per_record": 0.6667,
           "flows": [["filter-1", "node-a", "map-1", "node-a", 10.0, 0.0],
                     ["filter-2", "node-b", "map-1", "node-a", 20.0, 1.0]]}]


@pytest.mark.parametrize("status_first", [True, False],
                         ids=["status-read-before-the-replicas-change", "replicas-change-first"])
def test_a_scale_event_carries_the_ticks_reason_whichever_is_seen_first(status_first):
    t = Tracker(WATCH)
    t.update(_round(100.0, functions=(_filter("filter-1"),)))
    status = {"orders": {"ticks": 2, "last_tick": TICK, "routes": ROUTES}}
    scaled = (_filter("filter-1", "filter-2", "filter-3"),)
    if status_first:
        view = t.update(_round(101.0, functions=scaled, controller=status))
    else:
        t.update(_round(101.0, functions=scaled))
        view = t.update(_round(102.0, functions=scaled, controller=status))
    (event,) = view["events"]
    assert (event["function"], event["before"], event["after"]) == ("filter", 1, 3)
    assert event["by"] == "autoscaler (orders)"
    assert event["reason"] == "kept at min_replicas 3"
    (filter_row,) = view["functions"]
    assert filter_row["nodes"] == {"node-0": 1, "node-1": 1, "node-2": 1}


def test_a_scale_no_tick_asked_for_says_so():
    t = Tracker(WATCH)
    t.update(_round(100.0, functions=(_filter("filter-1", "filter-2"),)))
    (event,) = t.update(_round(101.0, functions=(_filter("filter-1"),)))["events"]
    assert (event["before"], event["after"], event["by"]) == (2, 1, None)


def test_each_tick_is_one_decision_newest_first_and_the_plan_is_a_graph():
    t = Tracker(WATCH)
    older = {**TICK, "at": 90.0, "status": "unchanged", "actions": [], "reason": "nothing to change"}
    t.update(_round(100.0, controller={"orders": {"last_tick": older}}))
    t.update(_round(101.0, controller={"orders": {"last_tick": older}}))
    view = t.update(_round(102.0, controller={"orders": {"last_tick": TICK, "routes": ROUTES}}))
    assert [d["at"] for d in view["decisions"]] == [101.5, 90.0]
    (link,) = view["plan"]
    assert (link["upstream"], link["downstream"], link["total_flow"], link["cost_per_record"]) == \
        ("filter", "map", 30.0, 0.667)
    assert link["flows"][1] == {"from": "filter-2", "from_node": "node-b", "to": "map-1",
                                "to_node": "node-a", "rate": 20.0, "cost": 1.0}
    assert view["warehouse"] == [{"table": "by_country", "rows": 7}]


def test_no_tick_yet_is_no_decision():
    view = Tracker(WATCH).update(_round(100.0, controller={"orders": None}))
    assert view["decisions"] == [] and view["plan"] == []


def test_scale_reason_only_for_the_action_the_tick_took():
    assert scale_reason(TICK, "filter", 1, 3) == "kept at min_replicas 3"
    assert scale_reason(TICK, "filter", 3, 1) is None
    assert scale_reason(TICK, "map", 1, 3) is None


def test_series_keep_one_point_per_round_up_to_the_history():
    t = Tracker(WATCH, history_points=3)
    for k in range(5):
        t.update(_round(100.0 + k, raw=10 * k))
    points = t.series()
    assert [p["t"] for p in points] == [102.0, 103.0, 104.0]
    assert points[-1]["topic_rate"]["raw"] == 10.0 and points[-1]["replicas"] == {"filter": 1}


def test_the_last_error_per_step_is_the_newest_any_replica_reported():
    from devstack.dashboard.view import last_error_per_step

    reported = [  # two replicas of one function; a tie in time goes to the higher status
        {"workflow": "w", "step": "paid", "at": 10.0, "status": 400, "reason": "old"},
        {"workflow": "w", "step": "paid", "at": 20.0, "status": 400, "reason": "step.kind: new"},
        {"workflow": "w", "step": "other", "at": 5.0, "status": 400, "reason": "a"},
        {"workflow": "w", "step": "other", "at": 5.0, "status": 503, "reason": "kafka: down"},
    ]
    expected = {("w", "paid"): {"at": 20.0, "status": 400, "reason": "step.kind: new"},
                ("w", "other"): {"at": 5.0, "status": 503, "reason": "kafka: down"}}
    assert last_error_per_step(reported) == expected
    assert last_error_per_step(reversed(reported)) == expected
