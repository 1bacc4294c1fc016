"""The stand-in runner on the committed lanes behaves as the real processes do (issue 15 item 2).

Real Argo (argo-events v1.9.11) runs each event of a Kafka EventSource as its own consumer-group
client (``pkg/eventsources/sources/kafka/start.go``) and each trigger of a Sensor in a goroutine
of its own with one event in flight (``pkg/sensors/listener.go``, ``pkg/eventbus/jetstream/
sensor/trigger_conn.go``: ``Fetch(1)``). The stand-in (devstack/argo/runner.py) runs a thread per
(Sensor, dependency) polling its own group member, calling one event at a time. On the committed
``orders-raw`` EventSource (six lanes) and ``orders-paid-only`` Sensor (a trigger per lane) with
the probe at two replicas of one call at a time each, both give: two calls in flight, every record
once, each partition in order (tests/devstack/realargo/test_lanes.py is the real side).
"""
from __future__ import annotations

import pathlib

import pytest
import yaml
from confluent_kafka import Producer

from devstack.argo.runner import Runner
from devstack.realargo import lanes as ln
from devstack.realargo.scenario import max_in_flight

from .stack_helpers import HEARTBEAT_MS, SESSION_TIMEOUT_MS, unique

pytestmark = pytest.mark.slow

HOLD_MS = 100
BATCHES, PER_BATCH = 3, 4  # per partition


def _write(folder: pathlib.Path, source: dict, sensor: dict) -> pathlib.Path:
    for sub, doc in (("event-sources", source), ("sensors", sensor)):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / sub / f"{doc['metadata']['name']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def _produce(bootstrap: str, messages: list) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False})
    for m in messages:
        producer.produce(m.topic, value=m.value, key=m.key, headers=list(m.headers), partition=m.partition)
    assert producer.flush(15) == 0


def _one_lane(source: dict, sensor: dict) -> None:
    """The shape before lanes: one event reading every partition, one trigger."""
    first = next(iter(source["spec"]["kafka"]))
    source["spec"]["kafka"] = {first: source["spec"]["kafka"][first]}
    sensor["spec"]["dependencies"] = sensor["spec"]["dependencies"][:1]
    sensor["spec"]["triggers"] = sensor["spec"]["triggers"][:1]
    sensor["spec"]["triggers"][0]["template"].pop("conditions")


@pytest.mark.parametrize("committed,in_flight", [
    pytest.param(True, 2, id="committed-lanes-both-replicas-busy"),
    pytest.param(False, 1, id="one-lane-as-before-one-call-at-a-time"),
])
def test_two_replicas_get_a_call_each_through_the_lanes_every_record_once_in_partition_order(
        local_stack, tmp_path, committed, in_flight):
    record_dir = tmp_path / "probe"
    record_dir.mkdir()
    probe = unique("lanes-probe")
    local_stack.deploy_folder(probe, ln.PROBE_DIR, envVars={"RECORD_DIR": str(record_dir), "WORKER_THREADS": "1"})
    ln.scale(local_stack, probe, 2)
    topic, dlq, group = unique("lanes-in"), unique("lanes-dlq"), unique("g-lanes")
    source, sensor = ln.lane_documents(HOLD_MS, "lanes")
    partitions = len(source["spec"]["kafka"])
    if not committed:
        _one_lane(source, sensor)
    for lane in source["spec"]["kafka"].values():  # the committed lanes on this test's topic and group
        lane["topic"], lane["consumerGroup"]["groupName"] = topic, group
    for trigger in sensor["spec"]["triggers"]:
        http = trigger["template"]["http"]
        http["url"] = http["url"].replace(f"/function/{ln.PROBE}?", f"/function/{probe}?")
        trigger["dlqTrigger"]["template"]["kafka"]["topic"] = dlq
    local_stack.create_topics({topic: partitions, dlq: 1})
    record_file = record_dir / "lanes.jsonl"

    with Runner(_write(tmp_path / "m", source, sensor), local_stack.bootstrap, local_stack.url,
                local_stack.credentials, run_dir=tmp_path / "run", session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_ms=HEARTBEAT_MS) as runner:
        # One batch per partition first: every lane's group member joined before the phase.
        _produce(local_stack.bootstrap, ln.batch_messages("W", partitions, 1, 1, topic))
        assert len(ln.wait_calls(record_file, "W", partitions)) == partitions
        _produce(local_stack.bootstrap, ln.batch_messages("P", partitions, BATCHES, PER_BATCH, topic))
        made = ln.wait_calls(record_file, "P", partitions * BATCHES)
        subscriptions = runner.status()["subscriptions"]

    # One group member per event (lane) of the EventSource, all in the EventSource's group.
    assert sorted(s["event"] for s in subscriptions) == sorted(source["spec"]["kafka"])
    assert {s["group"] for s in subscriptions} == {group}
    assert len(made) == partitions * BATCHES  # one call per Kafka message
    assert ln.books(made, ln.expected_keys("P", partitions, BATCHES, PER_BATCH)) == (0, 0, 0)
    # Lanes: both replicas busy at once. One trigger: one call in flight, a replica idles.
    assert max_in_flight(made) == in_flight
