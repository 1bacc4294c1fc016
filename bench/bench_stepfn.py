"""Records/s of each step function's own work per call (``etlkit.stepfn.handle_step``), as ratios
to a baseline of the same run.

Each call's body is what a Sensor posts for one Kafka message (docs/contracts.md, "Step
invocation"): ``{"workflow", "version", "step", "id", "event"}`` whose event is the Argo data of
one record batch (etlkit/wire.py) of BATCH records of one partition, written as the step before
wrote it. The steps run in the sample workflow's order (filter -> map -> enrich -> aggregate),
each fed the batches the one before produced; the aggregate keeps its windows in a real state
store (SQLite) between calls, as the function does.

The baseline is the least a function does per record of such a body: read the body
(``json.loads``), copy each record and write it back (``json.dumps``). Each step is measured two
ways:

* ``function``: handle_step producing into a double that lays the outputs out as batches
  (``wire.batches``, as ``kafka_io.produce_batches`` does) but sends nothing: body in, outputs
  encoded, counters out;
* ``+ kafka``: the same producing with ``etlkit.kafka_io.produce_batches`` to an embedded broker,
  every batch acknowledged: the whole CPU of a call but the HTTP around it.

Goals (GOALS below) are floors on the ``function`` ratio, about 30% under what a quiet 2-core
machine measures, so a miss means a regression, not noise. The ``+ kafka`` column shows what
producing adds (librdkafka's threads included in the process CPU time). Best of REPEATS.

A last line checks that producing batches costs no more per record than producing one message
per record did (:func:`measure_produce`).
"""
from __future__ import annotations

import csv
import gc
import json
import os
import pathlib
import sys
import tempfile
import time
from typing import Any, Callable, Iterator


REPO = pathlib.Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from devstack.argo.events import kafka_event_data  # noqa: E402
from devstack.broker import EmbeddedBroker, create_topics  # noqa: E402
from etlkit import kafka_io, wire  # noqa: E402
from etlkit.outrecord import OutRecord, out_record  # noqa: E402
from etlkit.state_store import StateStore  # noqa: E402
from etlkit.stepfn import handle_step  # noqa: E402
from etlkit.steps import build_lookup, parse_step_config  # noqa: E402
from etlkit.workflow import load_workflow  # noqa: E402

RECORDS = 20_000
BATCH = wire.MAX_RECORDS  # records per batch message: one call each
PARTITIONS = 6
REPEATS = 3
START_MS = 1_717_232_400_000  # 2024-06-01T09:00:00Z
SPAN_MS = 3 * 3_600_000  # event times over 3 hours: the aggregate's windows close as it runs
NOW_MS = START_MS + SPAN_MS
STEPS = {"filter": "paid-only", "map": "normalise", "enrich": "with-customer",
         "aggregate": "per-country"}
# Minimum ratio of the function's records/s to the baseline's (see the module docstring).
GOALS = {"filter": 0.6, "map": 0.45, "enrich": 0.55, "aggregate": 0.45}
TOPICS = {"orders-raw": PARTITIONS, "orders-paid": PARTITIONS, "orders-clean": PARTITIONS,
          "orders-enriched": PARTITIONS, "orders-by-country": 3, "orders-dlq": 1}


def envelope(kind: str) -> dict[str, Any]:
    """The static part of the sample workflow's step invocation (its ``id`` and ``event`` still
    to come)."""
    workflow = load_workflow(REPO / "workflows" / "orders.yaml")
    (step,) = [s for s in workflow.steps if s.name == STEPS[kind]]
    return {"workflow": workflow.name, "version": 1, "step": workflow.step_spec(step)}


def orders(count: int) -> Iterator[OutRecord]:
    """``count`` paid or shipped orders of the sample customers as the source writes them, event
    times evenly over SPAN_MS."""
    with open(REPO / "workflows" / "data" / "customers.csv", newline="") as f:
        customers = [row["customer_id"] for row in csv.DictReader(f)]
    for i in range(count):
        at = START_MS + i * SPAN_MS // count
        value = {"order_id": f"B{i:07d}", "cust_id": customers[i % len(customers)],
                 "amount": round(5 + (i % 997) * 0.29, 2), "quantity": i % 5 + 1,
                 "status": "paid" if i % 3 else "shipped",
                 "ordered_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at // 1000))}
        yield out_record("orders-raw", json.dumps(value).encode(), f"B{i:07d}".encode(),
                         (("etl-source", b"bench"), ("etl-event-time", str(at).encode())), at)


def bodies(kind: str, messages: list[OutRecord]) -> list[bytes]:
    """The Sensor's bodies for ``messages`` (batch messages) at step ``kind``: one per message."""
    static = envelope(kind)
    out = []
    for offset, m in enumerate(messages):
        data = kafka_event_data(topic=m.topic, partition=m.partition or 0, key=m.key, value=m.value,
                                timestamp_ms=m.timestamp_ms or 0, headers=list(m.headers),
                                json_body=True)
        out.append(json.dumps({**static, "id": f"bench:{m.topic}:{m.partition}:{offset}",
                               "event": data}).encode())
    return out


def lay_out(records: list[OutRecord], origin: str, **end: Any) -> list[OutRecord]:
    """What ``kafka_io.produce_batches`` would write for ``records``, not sent."""
    return wire.batches(records, origin, TOPICS.__getitem__, **end)


def in_time_order(messages: list[OutRecord]) -> list[OutRecord]:
    """Batch messages by their newest event time (a stable sort: each partition's own order
    kept), as a consumer reading every partition evenly meets them. Read partition after
    partition, the aggregate's watermark (the newest event time over all partitions, until
    per-partition watermarks) would make every other partition's records late."""
    return sorted(messages, key=lambda m: m.timestamp_ms or 0)


class Steps:
    """Each kind's call bodies (the chain's), and a call of its function on one of them."""

    def __init__(self, folder: pathlib.Path) -> None:
        self.folder = folder
        params = envelope("enrich")["step"]["params"]
        self.lookup = build_lookup(parse_step_config("enrich", params, "step.params"), base_dir=REPO)
        self.bodies: dict[str, list[bytes]] = {}
        messages = lay_out(list(orders(RECORDS)), "bench-source")
        for kind in STEPS:
            self.bodies[kind] = bodies(kind, in_time_order(messages))
            messages = []
            self.run(kind, lambda records, origin, **end: messages.extend(lay_out(records, origin, **end)))

    def run(self, kind: str, produce: Callable[..., None]) -> int:
        """Every call of ``kind`` through handle_step; the records that went in."""
        options: dict[str, Any] = {}
        if kind == "enrich":
            options["lookup"] = lambda spec: self.lookup
        if kind == "aggregate":  # a fresh store each run: the windows start empty
            options["state"] = StateStore.sqlite(pathlib.Path(tempfile.mkdtemp(dir=self.folder)) / "state.db")
            # As the function asks Kafka: the watermark waits for every partition of the input.
            # Without it the partitions seen count, and a batch of thousands of records of one
            # partition spans more event time than the lateness: the next partition's are late.
            options["partition_count"] = TOPICS.get
        total = 0
        for body in self.bodies[kind]:
            answer = handle_step(body, kind, NOW_MS, produce, **options)
            assert answer["statusCode"] == 200, answer
            counters = json.loads(answer["body"])
            assert counters["dead_lettered"] == 0, counters
            total += counters["in"]
        return total


def baseline(batches: list[bytes]) -> int:
    size = 0
    for body in batches:
        for entry in wire.batch_entries(json.loads(body)["event"]["body"])[0]:
            size += len(json.dumps(dict(entry["value"])).encode())
    return size


def records_in(body: bytes) -> int:
    return len(wire.batch_entries(json.loads(body)["event"]["body"])[0])


def best_rate(work: Callable[[], Any], count: int) -> float:
    """Records per second of the fastest of REPEATS runs of ``work``, by the process's CPU time
    (librdkafka's threads included, waiting on the broker not), under a function worker's
    collector settings (template/python3-etl/index.py: what is loaded frozen, young objects
    collected every 50 000 allocations)."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)
    best = float("inf")
    try:
        for _ in range(REPEATS):
            started = time.process_time()
            work()
            best = min(best, time.process_time() - started)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    return count / best


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-stepfn-") as tmp, \
            EmbeddedBroker(log_path=pathlib.Path(tmp) / "broker.log") as broker:
        create_topics(broker.bootstrap, TOPICS)
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
        os.environ["KAFKA_BOOTSTRAP"] = broker.bootstrap
        try:
            kafka_io.start_producer()
            return measure(Steps(pathlib.Path(tmp)))
        finally:
            kafka_io.stop_producer()
            if bootstrap is None:
                del os.environ["KAFKA_BOOTSTRAP"]
            else:
                os.environ["KAFKA_BOOTSTRAP"] = bootstrap


def measure(steps: Steps) -> int:
    """Print the table; 1 if a step missed its goal."""
    kafka_io.produce_all([OutRecord("orders-dlq", b"{}")])  # connected before timing
    base = best_rate(lambda: baseline(steps.bodies["filter"]), RECORDS)
    print(f"{RECORDS} orders through filter -> map -> enrich -> aggregate, one call per batch "
          f"message of up to {BATCH} records over {PARTITIONS} partitions, best of {REPEATS} by "
          "CPU time")
    print(f"baseline (json.loads the body -> copy each record -> json.dumps): {base:,.0f} records/s "
          f"= {1e6 / base:.2f} us/record")
    rows = []
    for kind in STEPS:
        count = sum(records_in(body) for body in steps.bodies[kind])
        rows.append((kind, count, best_rate(lambda: steps.run(kind, lay_out), count),
                     best_rate(lambda: steps.run(kind, kafka_io.produce_batches), count)))
    print(f"{'step':<10} {'function':>10} {'rec/s':>9} {'ratio':>6} {'+ kafka':>9}  goal")
    for kind, count, rate, with_kafka in rows:
        verdict = "ok" if rate / base >= GOALS[kind] else "MISSED"
        print(f"{kind:<10} {1e6 / rate:7.2f} us {rate:>9,.0f} {rate / base:5.2f}x "
              f"{1e6 / with_kafka:6.2f} us  >= {GOALS[kind]:.2f}x {verdict}  ({count} records)")
    produce_ok = measure_produce(steps)
    return 0 if produce_ok and all(rate / base >= GOALS[kind] for kind, _count, rate, _k in rows) else 1


def measure_produce(steps: Steps) -> bool:
    """Print what producing costs per record: the map step's outputs as batches
    (``kafka_io.produce_batches``: laid out and sent, every batch acknowledged) against one
    message per record (``kafka_io.produce_all``, how the functions wrote before batches).
    Batches must not cost more per record."""
    outputs: list[OutRecord] = []
    steps.run("map", lambda records, origin, **end: outputs.append(records))
    plain = [[record._replace(partition=None) for record in call] for call in outputs]
    count = sum(len(call) for call in outputs)
    one_each = best_rate(lambda: [kafka_io.produce_all(call) for call in plain], count)
    batched = best_rate(lambda: [kafka_io.produce_batches(call, f"bench-{i}")
                                 for i, call in enumerate(outputs)], count)
    ok = batched >= one_each
    print(f"producing the map step's {count} outputs: one message per record "
          f"{1e6 / one_each:.2f} us/record, batches {1e6 / batched:.2f} us/record "
          f"({one_each / batched:.2f}x)  <= 1.00x {'ok' if ok else 'MISSED'}")
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
