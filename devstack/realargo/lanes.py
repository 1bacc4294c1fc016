"""An I/O-bound step on its committed lanes through the real Argo Events processes (issue 15 item 2).

The committed ``orders-raw`` EventSource (one event per partition of ``orders-raw``: six lanes on
one topic and one consumer group) and ``orders-paid-only`` Sensor (one dependency and trigger
per lane), localised, run as the real ``eventsource-service`` and ``sensor-service`` on nats
JetStream and Apache Kafka (:class:`~.scenario.ArgoPods`). Only the triggers' URL changes: they
call the probe function (tests/devstack/realargo/functions/probe), which waits ``hold_ms`` per
call as a remote lookup would, so two cores are not the limit, and records every call it gets.
Each replica serves one call at a time (``WORKER_THREADS=1``: waitress with one thread), so a
replica is the unit of concurrency, as ``max_inflight: 1`` makes it behind of-watchdog.

A :meth:`LaneRun.phase` produces record batches (etlkit/wire.py) over every partition, waits
until the probe has answered a call for each, and reads from the probe's record: the records it
got (by key: each exactly once is the goal), the most calls in flight at once, and the seconds
from the first produce to the last answer. Before lanes a Sensor had one event in flight
(argo-events v1.9.11 ``pkg/eventbus/jetstream/sensor/trigger_conn.go``: ``Fetch(1)``, one
``processMsgs`` goroutine per trigger) and a second replica had nothing to do.
"""
from __future__ import annotations

import collections
import pathlib
import time
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

from confluent_kafka import Producer

from etlkit import wire
from etlkit.outrecord import out_record
from etlkit.steps.argo_event import records_from_batch_event

from . import scenario as sc
from .localise import CLUSTER_GATEWAY, local_addresses

PROBE = "lanes-probe"
PROBE_DIR = sc.REPO / "tests" / "devstack" / "realargo" / "functions" / "probe"
SOURCE, SENSOR, INPUT, DEAD = "orders-orders-raw", "orders-paid-only", "orders-raw", "orders-dlq"  # names.kafka_eventsource("orders", "orders-raw")
STALL_S = 60.0  # no new answer for this long: stop waiting, the books then say what is missing


def lane_documents(hold_ms: int, record_file: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The committed EventSource and Sensor, every trigger calling the probe (held ``hold_ms``)."""
    source, sensor = sc.committed("event-sources", SOURCE), sc.committed("sensors", SENSOR)
    for trigger in sensor["spec"]["triggers"]:
        trigger["template"]["http"]["url"] = (f"http://{CLUSTER_GATEWAY}/function/{PROBE}"
                                              f"?file={record_file}&hold_ms={hold_ms}")
    return source, sensor


def batch_messages(prefix: str, partitions: int, batches_per_partition: int, per_batch: int,
                   topic: str = INPUT) -> list:
    """Record batches as our functions write them: ``batches_per_partition`` on every partition,
    ``per_batch`` records each, keys ``<prefix>-<partition>-<n>`` numbered in partition order."""
    records = [out_record(topic, b'{"n": %d}' % n, f"{prefix}-{p}-{n:06d}".encode(), (), None, p)
               for p in range(partitions) for n in range(batches_per_partition * per_batch)]
    return wire.batches(records, f"lanes/{prefix}", lambda _t: partitions, max_records=per_batch)


def expected_keys(prefix: str, partitions: int, batches_per_partition: int, per_batch: int) -> list[str]:
    """The record keys :func:`batch_messages` writes."""
    return [f"{prefix}-{p}-{n:06d}" for p in range(partitions) for n in range(batches_per_partition * per_batch)]


def phase_calls(record_file: pathlib.Path, prefix: str) -> list[sc.Call]:
    """The probe's answered calls carrying records of ``prefix`` (the body names their keys)."""
    return [c for c in sc.calls(record_file) if c.ended is not None and c.status == 200 and f'"{prefix}-' in c.body]


def scale(stack: Any, function: str, replicas: int, timeout: float = 60.0) -> None:
    """Scale ``function`` through the gateway's API and wait until that many replicas are ready."""
    with stack.session() as http:
        resp = http.post(f"{stack.url}/system/scale-function/{function}",
                         json={"serviceName": function, "replicas": replicas}, timeout=30)
        if resp.status_code not in (200, 202):
            raise RuntimeError(f"scaling {function}: HTTP {resp.status_code} {resp.text}")
        sc.wait_until(lambda: http.get(f"{stack.url}/system/function/{function}", timeout=10)
                      .json().get("availableReplicas") == replicas, timeout, f"{replicas} ready replicas")


@dataclass(frozen=True)
class Phase:
    """What one phase measured: how many replicas, records and calls, and what the probe saw."""

    replicas: int
    records: int
    calls: int
    seconds: float  # first produce to the last answer
    in_flight: int  # the most probe calls in flight at one moment
    doubled: int  # records the probe got more than once
    missing: int  # records it never got
    out_of_order: int  # calls that came before an earlier batch of their partition

    @property
    def rate(self) -> float:
        return self.records / self.seconds

    def to_dict(self) -> dict[str, Any]:
        return {"replicas": self.replicas, "records": self.records, "calls": self.calls,
                "seconds": round(self.seconds, 3), "records_per_s": round(self.rate, 1),
                "in_flight": self.in_flight, "doubled": self.doubled, "missing": self.missing,
                "out_of_order": self.out_of_order}


def _keys(call: sc.Call) -> list[str]:
    records, bad = records_from_batch_event(call.event)
    return [r.key for r in records] + [f"bad:{b.reason}" for b in bad]


def books(made: Iterable[sc.Call], expected: Iterable[str]) -> tuple[int, int, int]:
    """(doubled, missing, out_of_order) of the answered calls against the expected keys.

    Out of order: a call whose first key is below the last key seen before it on its partition
    (keys are numbered in partition order, :func:`batch_messages`)."""
    seen: collections.Counter[str] = collections.Counter()
    last: dict[str, str] = {}
    out_of_order = 0
    for call in sorted(made, key=lambda c: c.started):
        keys = _keys(call)
        seen.update(keys)
        partition = keys[0].rsplit("-", 1)[0] if keys else ""
        if keys and last.get(partition, "") > keys[0]:
            out_of_order += 1
        if keys:
            last[partition] = keys[-1]
    expected = set(expected)
    doubled = sum(n - 1 for k, n in seen.items() if n > 1) + sum(n for k, n in seen.items() if k not in expected)
    return doubled, len(expected - seen.keys()), out_of_order


class LaneRun:
    """The committed lanes on a started real stack (``parts`` of :func:`devstack.realstack.real_stack`)."""

    def __init__(self, parts: Any, run_dir: pathlib.Path, hold_ms: int):
        self.parts, self.hold_ms = parts, hold_ms
        self.record_dir = pathlib.Path(run_dir) / "lanes-probe"
        self.record_dir.mkdir(parents=True, exist_ok=True)
        self.record_file = self.record_dir / "lanes.jsonl"
        self.source, self.sensor = lane_documents(hold_ms, "lanes")
        self.partitions = len(self.source["spec"]["kafka"])  # one lane per partition
        addresses = local_addresses(parts.kafka.pod_bootstrap, urlsplit(parts.stack.url).netloc)
        self.pods = sc.ArgoPods(parts.argo.network, parts.argo.bus, parts.argo.eventbus, addresses,
                                pathlib.Path(run_dir) / "real-argo-lanes")
        self.producer: Producer | None = None

    def start(self) -> "LaneRun":
        stack = self.parts.stack
        stack.create_topics({INPUT: self.partitions, DEAD: 1})
        stack.deploy_folder(PROBE, PROBE_DIR, envVars={"RECORD_DIR": str(self.record_dir), "WORKER_THREADS": "1"})
        self.producer = Producer({"bootstrap.servers": stack.bootstrap, "allow.auto.create.topics": False,
                                  "linger.ms": 5})
        # Sensors first, so their durable consumers exist before anything is published.
        self.pods.start_sensor(self.sensor)
        self.pods.start(self.source)
        return self

    def stop(self) -> None:
        self.producer = None  # its threads go now, before the broker: not retrying a stopped one
        self.pods.stop_all()

    def __enter__(self) -> "LaneRun":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def scale(self, replicas: int) -> None:
        scale(self.parts.stack, PROBE, replicas)

    def phase(self, prefix: str, replicas: int, batches_per_partition: int, per_batch: int) -> Phase:
        """Produce the phase's batches at once and wait for an answered call per batch."""
        messages = batch_messages(prefix, self.partitions, batches_per_partition, per_batch)
        expected = expected_keys(prefix, self.partitions, batches_per_partition, per_batch)
        began = time.time()
        assert self.producer is not None
        for m in messages:
            self.producer.produce(m.topic, value=m.value, key=m.key, headers=list(m.headers), partition=m.partition)
        if self.producer.flush(30):
            raise RuntimeError("the input batches were not all acknowledged by Kafka in 30 s")
        made = wait_calls(self.record_file, prefix, len(messages))
        if not made:
            raise TimeoutError(f"phase {prefix}: no call answered in {STALL_S:.0f} s")
        doubled, missing, out_of_order = books(made, expected)
        return Phase(replicas, len(expected), len(made), max(c.ended or 0 for c in made) - began,
                     sc.max_in_flight(made), doubled, missing, out_of_order)


def wait_calls(record_file: pathlib.Path, prefix: str, count: int) -> list[sc.Call]:
    """The answered calls of ``prefix`` once there are ``count``, or when none came for STALL_S."""
    made: list[sc.Call] = []
    progress = time.monotonic()
    while len(made) < count and time.monotonic() - progress < STALL_S:
        time.sleep(0.2)
        now = phase_calls(record_file, prefix)
        if len(now) > len(made):
            progress = time.monotonic()
        made = now
    return made


def ratio(one: Phase, two: Phase) -> float:
    """How many times faster the second phase processed its records than the first."""
    return two.rate / one.rate
