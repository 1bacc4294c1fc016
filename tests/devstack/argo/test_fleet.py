"""Each Sensor in a runner process of its own: separate processes, one group each, counters read
back from their status files, a clean stop that commits what was done."""
import pytest

from devstack.argo.fleet import SensorFleet
from devstack.argo.yamlnode import ManifestError

from . import factory
from .stack_helpers import (DEFAULT_HEARTBEAT_SESSION_TIMEOUT_MS, RECORDER, committed, events_of, produce,
                            unique, wait_for)

TOTAL = 60


def _fleet(local_stack, manifests, tmp_path):
    return SensorFleet(manifests, local_stack.bootstrap, local_stack.url, run_dir=tmp_path / "run",
                       secrets_dir=local_stack.secrets_dir, dlq_timeout_s=5,
                       session_timeout_ms=DEFAULT_HEARTBEAT_SESSION_TIMEOUT_MS)


def test_two_sensors_run_in_two_processes_and_each_delivers_everything(local_stack, record_dir, tmp_path):
    topic, first, second = unique("fleet-in"), unique("fleet-a"), unique("fleet-b")
    local_stack.create_topics({topic: 2})
    # Two Sensors on one event source: each gets a group of its own (planned over the folder).
    manifests = factory.write(tmp_path / "m", factory.kafka_eventsource("src", topic, "g-fleet"),
                              factory.sensor("fleet-a", "src", topic, RECORDER, query=f"?file={first}"),
                              factory.sensor("fleet-b", "src", topic, RECORDER, query=f"?file={second}"))
    produce(local_stack.bootstrap, topic, [{"id": i} for i in range(TOTAL)])
    with _fleet(local_stack, manifests, tmp_path) as fleet:
        wait_for(lambda: all(c["committed"] >= TOTAL for c in fleet.counters.values()), 60, "both Sensors done")
        status = fleet.status()
        pids = {s["sensor"]: s["pid"] for s in status["subscriptions"]}
        assert set(pids) == {"fleet-a", "fleet-b"} and len(set(pids.values())) == 2
        assert all(s["alive"] for s in status["subscriptions"])
    for file in (first, second):
        assert sorted({e["body"]["id"] for e in events_of(record_dir, file)}) == list(range(TOTAL))
    assert committed(local_stack.bootstrap, "g-fleet.fleet-a", topic, 2) == TOTAL
    assert committed(local_stack.bootstrap, "g-fleet.fleet-b", topic, 2) == TOTAL
    final = fleet.counters  # read after stop: the processes' last status
    assert final["fleet-a"]["requests"] == final["fleet-b"]["requests"] == TOTAL  # one request per message
    assert not fleet.status()["running"]


def test_a_manifest_error_is_raised_before_any_process_starts(local_stack, tmp_path):
    manifests = factory.write(tmp_path / "m", factory.sensor("orphan", "nowhere", "in", RECORDER))
    fleet = _fleet(local_stack, manifests, tmp_path)
    with pytest.raises(ManifestError):
        fleet.start()
    assert fleet.status()["subscriptions"] == [] and not (tmp_path / "run" / "sensors").exists()
