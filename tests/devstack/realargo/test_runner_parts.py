"""devstack.realargo.runner: the pure parts (durable names, counters)."""
from __future__ import annotations

import pytest

from devstack.pipeline.selection import read_documents
from devstack.realargo.runner import (dlq_trigger_names, durable_name, fnv32a, sensor_counters, sensor_durables,
                                      start_in_apply_order)


@pytest.mark.parametrize("text, value", [
    pytest.param("", 0x811C9DC5, id="offset-basis"),
    pytest.param("a", 0xE40C292C, id="one-byte"),
    pytest.param("foobar", 0xBF9CF968, id="fnv-test-vector"),
])
def test_fnv32a_is_go_hash_fnv_new32a(text, value):
    assert fnv32a(text) == value


def test_durable_names_are_argos_getDurableName():
    assert durable_name("s", "t", "d") == f"group-{fnv32a('s-t-d')}"


def test_one_durable_per_trigger_and_dependency_it_waits_on():
    sensor = {"metadata": {"name": "s"},
              "spec": {"dependencies": [{"name": "a"}, {"name": "b"}],
                       "triggers": [{"template": {"name": "both"}},
                                    {"template": {"name": "only-b", "conditions": "b"}}]}}
    assert sensor_durables(sensor) == {durable_name("s", "both", "a"), durable_name("s", "both", "b"),
                                       durable_name("s", "only-b", "b")}


def test_every_committed_sensor_of_orders_has_one_durable_per_lane(repo_root):
    """A trigger per lane (dependency), waiting on its lane alone: one durable each."""
    sensors = [d for d in read_documents(repo_root / "argo-events" / "sensors") if d.label("faas-etl.dev/workflow") == "orders"]
    assert sensors
    for d in sensors:
        spec = d.body["spec"]
        assert len(sensor_durables(d.body)) == len(spec["dependencies"]) == len(spec["triggers"])
    assert max(len(d.body["spec"]["triggers"]) for d in sensors) == 6  # orders-raw's six partitions


def test_sensor_counters_split_triggers_from_dead_letters():
    sensor = {"spec": {"triggers": [{"template": {"name": "sink"},
                                     "dlqTrigger": {"template": {"name": "sink-dead-letter"}}}]}}
    dlq = dlq_trigger_names(sensor)
    assert dlq == {"sink-dead-letter"}

    def labels(sensor_name, trigger):
        return (("namespace", "argo-events"), ("sensor_name", sensor_name), ("trigger_name", trigger))

    metrics = {("argo_events_action_triggered_total", labels("orders-sink", "sink")): 7.0,
               ("argo_events_action_triggered_total", labels("orders-sink", "sink-dead-letter")): 2.0,
               ("argo_events_action_failed_total", labels("orders-sink", "sink")): 6.0,
               ("argo_events_action_failed_total", labels("orders-sink", "sink-dead-letter")): 1.0,
               ("argo_events_action_retries_failed_total", labels("orders-sink", "sink")): 2.0,
               ("argo_events_action_triggered_total", labels("other", "sink")): 99.0}
    assert sensor_counters(metrics, "orders-sink", dlq) == {"triggered": 7, "failed": 6, "retries_failed": 2,
                                                           "dead_lettered": 2}


@pytest.mark.parametrize("kinds, steps", [
    pytest.param(["EventSource", "Sensor", "EventSource", "Sensor"],
                 ["start Sensor 1", "start Sensor 3", "wait [1, 3]", "start EventSource 0", "start EventSource 2"],
                 id="sources-listed-first-start-last"),
    pytest.param(["EventSource"], ["start EventSource 0"], id="no-sensor-no-wait"),
    pytest.param(["Sensor"], ["start Sensor 0", "wait [0]"], id="sensors-only"),
])
def test_sensors_start_and_subscribe_before_any_event_source(kinds, steps):
    """The order of etlkit.runs.documents.APPLY_ORDER: a Sensor's consumer starts at new events."""
    done = []
    documents = list(enumerate(kinds))

    def start(doc):
        done.append(f"start {doc[1]} {doc[0]}")
        return doc[0]

    started = start_in_apply_order(documents, lambda d: d[1], start,
                                   lambda sensors, procs: done.append(f"wait {procs}"))
    assert done == steps
    assert sorted(started) == list(range(len(kinds)))
