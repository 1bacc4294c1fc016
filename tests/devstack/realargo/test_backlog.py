"""The backlog the autoscaler gathers for a step, on the real path (issue 15 item 6).

Real parts: the ``argo-events`` v1.9.11 binary as one Kafka EventSource and one Sensor process
(a pod each, devstack/realargo/scenario.py), nats-server 2.10 with JetStream as the EventBus,
Apache Kafka 4.1, the local gateway with the probe function (tests/devstack/realargo/functions/
probe) held ``HOLD_MS`` per call. Record batches of ``PER_BATCH`` records are produced, the way our
functions write them (etlkit/wire.py); the EventSource reads them all at once and marks them in
its group as soon as the bus accepted each event (argo-events ``pkg/eventsources/sources/kafka/
start.go``), while the Sensor calls the probe one event at a time (``pkg/eventbus/jetstream/
sensor/trigger_conn.go``). The controller's gather then reads the group's lag (zero), the
Sensor's durable consumer on ``default.<topic>.<topic>`` through the nats monitor's ``/jsz``,
and the records per message from the topic: its backlog is the records the probe has not
finished, within one batch (the call in flight, ack pending, may end between the reads).
"""
from __future__ import annotations

import pathlib
import time
from urllib.parse import urlsplit

import pytest
from confluent_kafka import Producer

from devstack.realargo import scenario as sc
from devstack.realargo.localise import local_addresses
from etlkit import wire
from etlkit.controller import ControllerConfig, parse_scaling
from etlkit.controller.gather import Samples, gather, units_of
from etlkit.controller.wiring import build_edges
from etlkit.outrecord import out_record
from etlkit.workflow import names
from tests.devstack.argo.stack_helpers import committed, unique
from tests.fixtures.realargo import require_real_argo

pytestmark = pytest.mark.slow

PROBE = "realargo-backlog-probe"
PROBE_DIR = pathlib.Path(__file__).parent / "functions" / "probe"
BATCHES, PER_BATCH, HOLD_MS = 10, 50, 1500


def _produce_batches(bootstrap: str, topic: str) -> None:
    """``BATCHES`` record batches of ``PER_BATCH`` records on partition 0, as a source writes them."""
    records = [out_record(topic, b'{"id": %d}' % i, str(i).encode(), (), None, 0)
               for i in range(BATCHES * PER_BATCH)]
    messages = wire.batches(records, f"test/{topic}", lambda _t: 1, max_records=PER_BATCH)
    assert len(messages) == BATCHES
    producer = Producer({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False})
    for m in messages:
        producer.produce(m.topic, value=m.value, key=m.key, headers=list(m.headers),
                         partition=m.partition)
    assert producer.flush(15) == 0


def _finished(record_file: pathlib.Path) -> int:
    return len([c for c in sc.calls(record_file) if c.ended is not None])


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from devstack.realstack import real_stack

    require_real_argo(kafka=True)
    run_dir = tmp_path_factory.mktemp("backlog")
    with real_stack(run_dir, kafka_data=run_dir / "kafka", functions=["autoscaler"]) as parts:
        record_dir = run_dir / "probe-records"
        record_dir.mkdir()
        parts.stack.deploy_folder(PROBE, PROBE_DIR, envVars={"RECORD_DIR": str(record_dir)})
        yield parts, record_dir, run_dir


def test_a_held_step_s_backlog_is_its_unfinished_records_though_the_group_lags_nothing(stack):
    parts, record_dir, run_dir = stack
    topic = unique("backlog-in")
    group, dlq = f"faas-etl.backlog.{topic}", f"{topic}-dlq"
    parts.stack.create_topics({topic: 1, dlq: 1})
    name = unique("step")
    # The EventSource is named as the renderer names a workflow's (etlkit.workflow.names
    # .kafka_eventsource: <workflow>-<topic>): the subjects the controller reads are derived so.
    workflow = unique("backlog")
    source_name = names.kafka_eventsource(workflow, topic)
    source = sc.kafka_eventsource(source_name, topic, group)
    sensor = sc.http_sensor(name, source_name, f"function/{PROBE}?file={name}&hold_ms={HOLD_MS}", dlq)
    addresses = local_addresses(parts.kafka.pod_bootstrap, urlsplit(parts.stack.url).netloc)
    pods = sc.ArgoPods(parts.argo.network, parts.argo.bus, parts.argo.eventbus, addresses,
                       run_dir / "real-argo")
    config = ControllerConfig.from_env({
        "PLATFORM": "local", "OPENFAAS_URL": parts.stack.url,
        "KAFKA_BOOTSTRAP": parts.stack.bootstrap, "STATE_STORE": "file",
        "STATE_DIR": str(run_dir / "controller-state"), "MATCHER": "inline",
        "TOPOLOGY_FILE": str(sc.REPO / "config" / "topology.yml"),
        "EVENTBUS_MONITOR_URL": parts.argo.bus.monitor_url})
    edges = build_edges(config, secrets_dir=str(parts.stack.secrets_dir))
    envelope = {"workflow": workflow, "version": 1, "scaling": {
        "interval_ms": 15000, "operations": [{
            "name": name, "function": PROBE, "inputs": [{"topic": topic, "consumer_group": group}],
            "min_replicas": 1, "max_replicas": 3, "dtt_ms": 60000, "dtc": 1000}]}}
    spec = parse_scaling(envelope)
    units = units_of(spec)
    record_file = record_dir / f"{name}.jsonl"

    def measure(previous=Samples()):
        before = _finished(record_file)
        gathered = gather(spec, units, previous, offsets=edges.offsets, cluster=edges.cluster,
                          metrics=edges.metrics, bus=edges.bus, now=time.time())
        return before, gathered, _finished(record_file)

    try:
        pods.start_sensor(sensor)
        pods.start(source)
        _produce_batches(parts.stack.bootstrap, topic)
        sc.wait_until(lambda: committed(parts.stack.bootstrap, group, topic, 1) == BATCHES, 60,
                      "the EventSource to mark every message in its group")
        before, first, after = measure()
        (held,) = first.units
        print(f"\nheld step: finished {before}..{after} of {BATCHES} calls; gathered "
              f"{held.to_dict()}")
        assert held.kafka_lag == 0  # the group alone says: nothing waits
        assert held.records_per_message == PER_BATCH
        assert (BATCHES - after) * PER_BATCH <= held.backlog <= (BATCHES - before) * PER_BATCH
        assert held.backlog >= PER_BATCH * (BATCHES // 2)  # most of it still waits in the bus
        assert held.bus_held is not None and held.bus_note == ""
        # The deployed autoscaler function too (real_stack gives it EVENTBUS_MONITOR_URL).
        with parts.stack.session() as http:
            before = _finished(record_file)
            resp = http.post(f"{parts.stack.url}/function/autoscaler?dry_run=true", json=envelope)
            after = _finished(record_file)
        assert resp.status_code == 200, resp.text
        (fn,) = resp.json()["measurements"]
        print(f"autoscaler function (dry run): finished {before}..{after}; measured {fn}")
        assert fn["kafka_lag"] == 0 and fn["bus_held"] > 0 and "bus" not in fn
        assert (BATCHES - after) * PER_BATCH <= fn["backlog"] <= (BATCHES - before) * PER_BATCH

        sc.wait_until(lambda: _finished(record_file) == BATCHES, BATCHES * HOLD_MS / 1000 + 60,
                      "the probe to finish every call")
        sc.wait_until(lambda: pods.consumer(sensor).num_ack_pending == 0, 30,
                      "the Sensor to acknowledge its last event")
        _, second, _ = measure(first.samples)
        (drained,) = second.units
        print(f"drained: gathered {drained.to_dict()}")
        assert (drained.kafka_lag, drained.bus_held, drained.backlog) == (0, 0, 0)
        # Finished between the two ticks: what the bus held at the first (the group committed
        # nothing more), not the commits (zero): the consumed rate counts calls that ended.
        finished = drained.consumed_rate.value * (second.at - first.at)
        print(f"finished between the ticks: {finished:.0f} records in {second.at - first.at:.1f}s")
        assert finished == pytest.approx(held.backlog, abs=1)
    finally:
        pods.stop_all()
        edges.offsets.close()
