"""Records/s through the local Argo Events runner: per-event mode vs batch mode, same run.

Both modes read JSON records from a Kafka topic on the embedded broker, pass a Sensor with the
renderer's invocation payload (``dataTemplate`` with ``toJson .Input``), call a trivial step
function (the template's echo handler) through the local gateway, and commit offsets. Per-event
mode sends one request per record, as Argo does; batch mode uses the
``faas-etl.dev/batch-size`` annotation. The rate runs from the first record polled to the last
offset committed, so the consumer group join is not counted. Goal: batch >= 20x per-event.
"""
from __future__ import annotations

import json
import pathlib
import sys
import tempfile
import time

from confluent_kafka import Producer

REPO = pathlib.Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from devstack.argo.runner import Runner  # noqa: E402
from devstack.localstack import LocalStack  # noqa: E402
from tests.devstack.argo import factory  # noqa: E402  (manifests in the renderer's shape)

STEP = "bench-step"
PER_EVENT_RECORDS = 3000
PER_EVENT_SECONDS = 10.0  # per-event mode stops here if it has not finished
BATCH_RECORDS = 20000
BATCH_SIZE = 500
GOAL = 20.0


def _record(i: int) -> bytes:
    return json.dumps({"order_id": f"o-{i}", "customer_id": i % 97, "amount": round(i * 1.37, 2),
                       "quantity": i % 5 + 1, "status": "paid", "country": "FR"}).encode()


def _produce(bootstrap: str, topic: str, n: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "allow.auto.create.topics": False})
    for i in range(n):
        while True:
            try:
                producer.produce(topic, value=_record(i), key=f"o-{i}".encode())
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(30) == 0


def _measure(stack: LocalStack, work: pathlib.Path, mode: str, records: int, batch_size: int | None,
             limit_s: float | None) -> tuple[int, float, int]:
    """(records committed, seconds from first poll to last commit, HTTP requests)."""
    topic = f"bench-{mode}"
    stack.create_topics({topic: 3})
    _produce(stack.bootstrap, topic, records)
    manifests = factory.write(work / mode, factory.kafka_eventsource("src", topic, f"bench-{mode}"),
                              factory.sensor(mode, "src", topic, STEP, batch_size=batch_size))
    runner = Runner(manifests, stack.bootstrap, stack.url, stack.credentials, run_dir=work / "run")
    runner.start()
    try:
        while runner.counters[mode]["events_in"] == 0:
            time.sleep(0.002)
        started = time.perf_counter()
        while runner.counters[mode]["committed"] < records:
            if limit_s is not None and time.perf_counter() - started > limit_s:
                break
            time.sleep(0.002)
        elapsed = time.perf_counter() - started
        counters = runner.counters[mode]
    finally:
        runner.stop()
    return counters["committed"], elapsed, counters["requests"]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        work = pathlib.Path(tmp)
        stack = LocalStack(run_dir=work / "stack", functions=["ingest"]).up()
        try:
            stack.deploy_folder(STEP, "template/python3-etl/function")
            with stack.session() as s:
                s.post(f"{stack.url}/function/{STEP}", data=b"{}", timeout=60)  # warm the replica
            single = _measure(stack, work, "per-event", PER_EVENT_RECORDS, None, PER_EVENT_SECONDS)
            batched = _measure(stack, work, "batch", BATCH_RECORDS, BATCH_SIZE, None)
        finally:
            stack.down()
    rates = {}
    for name, (done, seconds, requests) in (("per-event", single), (f"batch ({BATCH_SIZE})", batched)):
        rates[name] = done / seconds
        print(f"{name:>12}: {done:6d} records in {seconds:6.2f} s = {rates[name]:9.0f} records/s "
              f"({requests} requests, {1000 * seconds / max(requests, 1):.1f} ms per request)")
    ratio = rates[f"batch ({BATCH_SIZE})"] / rates["per-event"]
    print(f"batch / per-event = {ratio:.1f}x (goal >= {GOAL:.0f}x): {'met' if ratio >= GOAL else 'MISSED'}")
    return 0 if ratio >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
