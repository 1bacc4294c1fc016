"""devstack.realargo.runner with the real processes: a calendar EventSource and a Sensor with a log
trigger (no Kafka, no gateway), started in order, one killed with kill -9 and replaced, stopped."""
from __future__ import annotations

import time

import yaml

from etlkit.controller.eventbus import consumers
from devstack.realargo.runner import sensor_durables

EVENT_SOURCE = {"apiVersion": "argoproj.io/v1alpha1", "kind": "EventSource",
                "metadata": {"name": "ticks", "namespace": "argo-events"},
                "spec": {"eventBusName": "default", "calendar": {"tick": {"interval": "1s"}}}}
SENSOR = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor",
          "metadata": {"name": "ticker", "namespace": "argo-events"},
          "spec": {"eventBusName": "default",
                   "dependencies": [{"name": "tick", "eventSourceName": "ticks", "eventName": "tick"}],
                   "triggers": [{"template": {"name": "note", "log": {}}, "atLeastOnce": True}]}}


def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        time.sleep(0.2)
    return value


def test_sensor_first_kill_and_replace_then_stop(real_argo, tmp_path):
    folder = tmp_path / "manifests"
    (folder / "event-sources").mkdir(parents=True)
    (folder / "sensors").mkdir()
    (folder / "event-sources" / "ticks.yaml").write_text(yaml.safe_dump(EVENT_SOURCE))
    (folder / "sensors" / "ticker.yaml").write_text(yaml.safe_dump(SENSOR))
    runner = real_argo.runner(folder, "127.0.0.1:9", "http://127.0.0.1:9")  # neither is used here
    runner.start()
    try:
        kinds = [p.kind for p in runner.processes.values()]
        assert kinds == ["Sensor", "EventSource"]  # the EventSource only once the consumer existed
        assert sensor_durables(SENSOR) <= set(consumers(real_argo.bus.jsz()))
        assert {p.pod.address for p in runner.processes.values()} < {f"{real_argo.host[:-1]}{i}" for i in range(2, 9)}

        _until(lambda: runner.counters["ticker"]["triggered"] >= 2, 30, "two ticks triggered")
        assert runner.counters["ticker"]["events_in"] >= 2 and runner.held_events() <= 1

        runner.kill("Sensor", "ticker")
        assert [s["alive"] for s in runner.status()["subscriptions"]] == [False]
        _until(lambda: runner.held_events() >= 2, 10, "ticks held by the bus while the Sensor is dead")

        replaced = runner.restart("Sensor", "ticker")
        assert replaced.alive() and [s["alive"] for s in runner.status()["subscriptions"]] == [True]
        # The durable consumer outlived the process: the ticks published meanwhile are delivered.
        _until(lambda: runner.held_events() <= 1 and runner.counters["ticker"]["triggered"] >= 2, 30,
               "the held ticks delivered to the new Sensor")
    finally:
        runner.stop()
    assert runner.processes == {} and real_argo.network.pods == {}
