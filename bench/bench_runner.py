"""CPU per record of the local Argo Events runner's Sensor process, over record batches.

What a Sensor's process spends per record, apart from the broker, the gateway and the function:
one step Sensor with the renderer's invocation payload (docs/contracts.md "Step invocation":
``value`` texts, ``contextKey: id`` and ``dataKey: "@this"`` with ``useRawData``), in a process of
its own as bench_pipeline runs it (devstack/argo/fleet.py), reads record batches written as a
bounded source writes them (etlkit/wire.py: up to 500 records a message) and calls the template's
echo handler through the local gateway, one call per Kafka message as real Argo does. The CPU is
the process's utime + stime (/proc/<pid>/stat) from its first commit to its last, so the group
join and the first, warming call are left out; the rate beside it drifts with the machine's
other tenants, the CPU much less.

Goal: at most ``GOAL_US`` of the runner's CPU per record, half of the 22 us the pipeline bench
measured before the runner stopped decoding every batch (README "Throughput"; issue 15): real
Argo only checks a Kafka value is JSON and passes its text on (kafka/start.go, jsonBody).
"""
from __future__ import annotations

import os
import pathlib
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_pipeline import produce, source_messages  # noqa: E402
from bench.pipeline_check import orders, parse_stat  # noqa: E402
from devstack.argo.fleet import SensorFleet  # noqa: E402
from devstack.localstack import LocalStack  # noqa: E402
from etlkit.controller.kafka_offsets import KafkaOffsets  # noqa: E402
from tests.devstack.argo import factory  # noqa: E402  (manifests in the renderer's shape)

STEP = "bench-step"
TOPIC, PARTITIONS, GROUP = "bench-in", 6, "bench-runner"
RECORDS = int(os.getenv("FAAS_ETL_BENCH_RUNNER_RECORDS", "100000"))
GOAL_US = 11.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    return parse_stat(pathlib.Path(f"/proc/{pid}/stat").read_text()).ticks


def _committed(offsets: KafkaOffsets) -> int:
    return sum(o or 0 for o in offsets.committed(GROUP, TOPIC, range(PARTITIONS)).values())


def _sensor_pid(fleet: SensorFleet) -> int:
    """The Sensor process's pid, from its status file (written every 0.1 s)."""
    while not (subs := fleet.status()["subscriptions"]):
        time.sleep(0.01)
    return subs[0]["pid"]


def measure(stack: LocalStack, work: pathlib.Path) -> tuple[float, float, int, dict]:
    """(records/s, runner CPU us per record, records measured, Sensor counters)."""
    stack.create_topics({TOPIC: PARTITIONS})
    messages = produce(stack.bootstrap, source_messages(TOPIC, orders(RECORDS), PARTITIONS))
    manifests = factory.write(work / "manifests", factory.kafka_eventsource("src", TOPIC, GROUP),
                              factory.sensor("bench", "src", TOPIC, STEP))
    fleet = SensorFleet(manifests, stack.bootstrap, stack.url, run_dir=work / "run",
                        secrets_dir=stack.secrets_dir).start()
    offsets = KafkaOffsets(stack.bootstrap)
    try:
        pid = _sensor_pid(fleet)
        while (first := _committed(offsets)) == 0:
            time.sleep(0.002)
        started, ticks = time.perf_counter(), _ticks(pid)
        while _committed(offsets) < messages:
            time.sleep(0.025)  # each look is a request to the broker: not too many
        elapsed, used = time.perf_counter() - started, _ticks(pid) - ticks
        measured = round((messages - first) * RECORDS / messages)
    finally:
        offsets.close()
        fleet.stop()
    return measured / elapsed, used / CLOCK_TICKS / measured * 1e6, measured, fleet.counters["bench"]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        work = pathlib.Path(tmp)
        stack = LocalStack(run_dir=work / "stack", functions=["ingest"]).up()
        try:
            stack.deploy_folder(STEP, "template/python3-etl/function")
            with stack.session() as s:
                s.post(f"{stack.url}/function/{STEP}", data=b"{}", timeout=60)  # warm the replica
            rate, cpu_us, measured, counters = measure(stack, work)
        finally:
            stack.down()
    ok = cpu_us <= GOAL_US
    print(f"runner over {measured} records (of {RECORDS}, batches of up to 500): {rate:8.0f} records/s, "
          f"runner CPU {cpu_us:5.2f} us/record (goal <= {GOAL_US}): {'met' if ok else 'MISSED'}; "
          f"{counters['requests']} calls, {counters['rejected']} rejected, {counters['failed']} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
