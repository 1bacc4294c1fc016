"""Records/s of each step function's own work per batch (``etlkit.stepfn.handle_step``), as ratios
to a baseline of the same run.

The batch bodies are what the local runner posts: each record as Argo's Kafka event data
(``devstack.argo.events.kafka_event_data``: decoded JSON body, Go time text, headers), wrapped
in the committed Sensor's payload template and merged into one ``"events"`` body
(``devstack.argo.dispatch.merge_members``). The steps run in the sample workflow's order
(filter -> map -> enrich -> aggregate), each fed what the one before produced, in batches of
BATCH; the aggregate keeps its windows in a real state store (SQLite) between batches, as the
function does.

The baseline is the least a function does per record of such a body: read the body
(``json.loads``), copy each event's record and write it back (``json.dumps``). Each step is
measured two ways:

* ``function``: handle_step with a produce double: body in, outputs encoded, counters out;
* ``+ kafka``: the same producing with ``etlkit.kafka_io.produce_all`` to an embedded broker,
  every record acknowledged: the whole CPU of a call but the HTTP around it.

Goals (GOALS below) are floors on the ``function`` ratio, about 30% under what a quiet 2-core
machine measures, so a miss means a regression, not noise. The ``+ kafka`` column shows what
producing adds (librdkafka's threads included in the process CPU time). Best of REPEATS.
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
import zlib
from typing import Any, Callable, Iterator

import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from devstack.argo.dispatch import merge_members  # noqa: E402
from devstack.argo.events import kafka_event_data  # noqa: E402
from devstack.broker import EmbeddedBroker, create_topics  # noqa: E402
from etlkit import kafka_io  # noqa: E402
from etlkit.outrecord import OutRecord  # noqa: E402
from etlkit.state_store import StateStore  # noqa: E402
from etlkit.stepfn import handle_step  # noqa: E402
from etlkit.steps import build_lookup, parse_step_config  # noqa: E402

RECORDS = 20_000
BATCH = 500  # the sample workflow's delivery.batch_size
REPEATS = 3
START_MS = 1_717_232_400_000  # 2024-06-01T09:00:00Z
SPAN_MS = 3 * 3_600_000  # event times over 3 hours: the aggregate's windows close as it runs
NOW_MS = START_MS + SPAN_MS
SENSORS = {"filter": "orders-paid-only", "map": "orders-normalise", "enrich": "orders-with-customer",
           "aggregate": "orders-per-country"}
# Minimum ratio of the function's records/s to the baseline's (see the module docstring).
GOALS = {"filter": 0.6, "map": 0.45, "enrich": 0.55, "aggregate": 0.45}


def envelope(kind: str) -> dict[str, Any]:
    """The static part of the committed Sensor's step invocation (its ``event`` still empty)."""
    sensor = yaml.safe_load((REPO / "argo-events" / "sensors" / f"{SENSORS[kind]}.yaml").read_text())
    template = sensor["spec"]["triggers"][0]["template"]["http"]["payload"][0]["src"]["dataTemplate"]
    return json.loads(template.replace("{{ toJson .Input }}", "null"))


def orders(count: int) -> Iterator[tuple[bytes, bytes, int]]:
    """``(key, JSON value, Kafka timestamp)`` of ``count`` paid or shipped orders of the sample
    customers, event times evenly over SPAN_MS."""
    with open(REPO / "workflows" / "data" / "customers.csv", newline="") as f:
        customers = [row["customer_id"] for row in csv.DictReader(f)]
    for i in range(count):
        at = START_MS + i * SPAN_MS // count
        value = {"order_id": f"B{i:07d}", "cust_id": customers[i % len(customers)],
                 "amount": round(5 + (i % 997) * 0.29, 2), "quantity": i % 5 + 1,
                 "status": "paid" if i % 3 else "shipped",
                 "ordered_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at // 1000))}
        yield f"B{i:07d}".encode(), json.dumps(value).encode(), at


def event(topic: str, key: bytes | None, value: bytes, timestamp_ms: int,
          headers: list[tuple[str, bytes]]) -> dict[str, Any]:
    return kafka_event_data(topic=topic, partition=zlib.crc32(key or b"") % 6, key=key, value=value,
                            timestamp_ms=timestamp_ms, headers=headers, json_body=True)


def bodies(kind: str, events: list[dict[str, Any]]) -> list[bytes]:
    """The runner's batch bodies for ``events`` at step ``kind``."""
    static = envelope(kind)
    return [merge_members([{**static, "event": e} for e in events[i:i + BATCH]])
            for i in range(0, len(events), BATCH)]


class Steps:
    """Each kind's batch bodies (the chain's), and a call of its function on one of them."""

    def __init__(self, folder: pathlib.Path) -> None:
        self.folder = folder
        params = envelope("enrich")["step"]["params"]
        self.lookup = build_lookup(parse_step_config("enrich", params, "step.params"), base_dir=REPO)
        self.bodies: dict[str, list[bytes]] = {}
        events = [event("orders-raw", key, value, at, [("etl-source", b"bench")])
                  for key, value, at in orders(RECORDS)]
        for kind in SENSORS:
            self.bodies[kind] = bodies(kind, events)
            produced: list[OutRecord] = []
            self.run(kind, produced.extend)
            events = [event(r.topic, r.key, r.value, r.timestamp_ms or 0, list(r.headers)) for r in produced]

    def run(self, kind: str, produce: Callable[[list[OutRecord]], None]) -> int:
        """Every batch of ``kind`` through handle_step; the records that went in."""
        options: dict[str, Any] = {}
        if kind == "enrich":
            options["lookup"] = lambda spec: self.lookup
        if kind == "aggregate":  # a fresh store each run: the windows start empty
            options["state"] = StateStore(pathlib.Path(tempfile.mkdtemp(dir=self.folder)) / "state.db")
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
        for e in json.loads(body)["events"]:
            size += len(json.dumps(dict(e["body"])).encode())
    return size


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
        create_topics(broker.bootstrap, {"orders-paid": 6, "orders-clean": 6, "orders-enriched": 6,
                                         "orders-by-country": 3, "orders-dlq": 1})
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
    print(f"{RECORDS} orders through filter -> map -> enrich -> aggregate, runner-shaped batches "
          f"of {BATCH}, best of {REPEATS} by CPU time")
    print(f"baseline (json.loads the body -> copy each record -> json.dumps): {base:,.0f} records/s "
          f"= {1e6 / base:.2f} us/record")
    rows = []
    for kind in SENSORS:
        count = sum(len(json.loads(body)["events"]) for body in steps.bodies[kind])
        rows.append((kind, count, best_rate(lambda: steps.run(kind, lambda records: None), count),
                     best_rate(lambda: steps.run(kind, kafka_io.produce_all), count)))
    print(f"{'step':<10} {'function':>10} {'rec/s':>9} {'ratio':>6} {'+ kafka':>9}  goal")
    for kind, count, rate, with_kafka in rows:
        verdict = "ok" if rate / base >= GOALS[kind] else "MISSED"
        print(f"{kind:<10} {1e6 / rate:7.2f} us {rate:>9,.0f} {rate / base:5.2f}x "
              f"{1e6 / with_kafka:6.2f} us  >= {GOALS[kind]:.2f}x {verdict}  ({count} records)")
    return 0 if all(rate / base >= GOALS[kind] for kind, _count, rate, _k in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
