"""One step through the real Argo Events processes, per event, beside the stand-in runner (issue 14).

The step is the orders workflow's filter, ``paid-only``: its committed EventSource
(``argo-events/event-sources/orders-raw.yaml``) and Sensor (``argo-events/sensors/
orders-paid-only.yaml``), localised, over the same generated orders on three stacks, each fresh
(its own Apache Kafka 4.1.1 node, gateway and ``filter`` replica):

1. ``real``: Apache Kafka -> the real ``eventsource-service`` -> nats-server JetStream (the
   EventBus) -> the real ``sensor-service`` (v1.9.11, each in a pod netns of its own,
   devstack/realargo) -> the local gateway -> the filter worker -> Kafka. Argo calls once per event.
2. ``stand-in``: the local runner (``devstack.argo``, the Sensor in a process of its own as
   :class:`~devstack.argo.fleet.SensorFleet` runs it) on the same manifests with the
   ``faas-etl.dev/batch-size`` annotation removed, so it too calls once per event.
3. ``stand-in, batch``: the same with the committed annotation (500 records per call), for reference.

Per stack, in turn: a few warm-up records; then the burst, ``FAAS_ETL_BENCH_REAL_RECORDS``
(3000) records produced at once, for records/s from the first input record's broker timestamp to
the last output's (the output and dead-letter topics); then ``FAAS_ETL_BENCH_REAL_PACED`` (100)
records at ``FAAS_ETL_BENCH_REAL_PACE`` (20) per second, well under every path's rate, for the
per-record latency: the output's broker timestamp minus the input's. Every topic is created with
``message.timestamp.type=LogAppendTime``, so both ends are stamped by the same broker clock (the
function's own timestamp, the record's event time, is overwritten). CPU per record of the burst
comes from ``/proc`` (utime + stime) of every process involved: the Argo processes, nats-server,
the stand-in runner, the function worker, the broker JVM and the gateway (threads of this
process: all of them but the main thread and librdkafka's).

The books: every input record must come back exactly once as what the filter's condition says
(an output, a dead letter of ``paid-only``, or nothing when filtered), nothing else may appear:
``in = out + filtered + dead_lettered`` by key, none lost, none doubled. That is the only goal;
the rates are measured and printed, not judged (issue 14 sets none for this bullet).

Needs what the real-parts tests need (`make tools`, root for the pod netns, openssl); without it
the bench says what is missing and skips (it fails instead when ``CI`` is set).
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

REPO = pathlib.Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from devstack import realtools  # noqa: E402
from devstack.pipeline.selection import Document, read_documents, workflow_topics  # noqa: E402
from etlkit.controller.measure import parse_prometheus  # noqa: E402

RECORDS = int(os.getenv("FAAS_ETL_BENCH_REAL_RECORDS", "3000"))
PACED = int(os.getenv("FAAS_ETL_BENCH_REAL_PACED", "100"))
PACE_PER_S = float(os.getenv("FAAS_ETL_BENCH_REAL_PACE", "20"))
WARMUP = 12
IDLE_S = 2.0  # CPU of every part measured this long with nothing to do, before the burst
STALL_S = 60.0  # no progress for this long: stop waiting, the books then name what is missing
SOURCE, SENSOR, STEP, FUNCTION = "orders-raw", "orders-paid-only", "paid-only", "filter"
INPUT, OUTPUT, DEAD = "orders-raw", "orders-paid", "orders-dlq"
BATCH_ANNOTATION = "faas-etl.dev/batch-size"
MANIFESTS = (REPO / "argo-events" / "event-sources" / "orders-raw.yaml",
             REPO / "argo-events" / "sensors" / "orders-paid-only.yaml")
STATUSES = ("paid", "shipped", "paid", "cancelled", "paid", "pending")


# -- the input and what the filter must make of it (pure) ------------------------------------------
def order(prefix: str, i: int) -> dict:
    """Order ``i`` of a phase: about half pass, a few have an amount that is not a number."""
    amount: object = round(5 + (i % 997) * 0.29, 2)
    if i % 97 == 13:
        amount = "n/a"  # number(amount) fails: a dead letter of the step
    elif i % 50 == 7:
        amount = 0
    return {"order_id": f"{prefix}{i:06d}", "cust_id": f"C{i % 25 + 1:03d}", "amount": amount,
            "quantity": i % 5 + 1, "status": STATUSES[i % len(STATUSES)], "ordered_at": "2024-06-01T09:00:00Z"}


def fate(record: Mapping) -> str:
    """What ``paid-only`` (``number(amount) > 0 and status in ['paid', 'shipped']``) does with it."""
    amount = record.get("amount")
    if isinstance(amount, str):
        try:
            amount = float(amount)
        except ValueError:
            return "dead"
    return "out" if amount is not None and amount > 0 and record.get("status") in ("paid", "shipped") else "filtered"


@dataclass(frozen=True)
class Books:
    """Where each input record went, counted by key; ``problems`` empty when they balance."""

    inputs: int
    out: int
    filtered: int
    dead: int
    problems: tuple[str, ...]


def balance(expected: Mapping[str, str], outputs: Iterable[str], dead: Iterable[str]) -> Books:
    """``expected``: key -> fate; ``outputs``/``dead``: the keys on the output topic and of the
    step's dead letters, as read (a key twice is a duplicate, a key not sent is a stranger)."""
    problems, seen = [], {}
    for where, keys in (("out", outputs), ("dead", dead)):
        for key in keys:
            seen.setdefault(key, []).append(where)
    for key, places in sorted(seen.items()):
        if key not in expected:
            problems.append(f"{key}: not an input record, found in {places}")
        elif len(places) > 1:
            problems.append(f"{key}: {len(places)} times ({', '.join(places)})")
        elif places[0] != expected[key]:
            problems.append(f"{key}: {places[0]}, should be {expected[key]}")
    lost = [k for k, f in expected.items() if f != "filtered" and k not in seen]
    problems += [f"{k}: lost (should be {expected[k]})" for k in sorted(lost)[:20]]
    if len(lost) > 20:
        problems.append(f"... {len(lost) - 20} more lost")
    out = sum(1 for places in seen.values() for p in places if p == "out")
    dead_n = sum(1 for places in seen.values() for p in places if p == "dead")
    filtered = len(expected) - out - dead_n
    if filtered != sum(f == "filtered" for f in expected.values()):
        problems.append(f"filtered {filtered}, the condition filters {sum(f == 'filtered' for f in expected.values())}")
    return Books(len(expected), out, filtered, dead_n, tuple(problems))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


# -- CPU from /proc --------------------------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")
PARTS = (("kafka.Kafka", "Kafka broker"), ("nats-server", "nats-server (EventBus)"),
         ("eventsource-service", "Argo EventSource"), ("sensor-service", "Argo Sensor"),
         ("devstack.argo", "stand-in runner"), ("index.py", "function worker"))


def _ticks(stat_path: str) -> int:
    with open(stat_path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


def _children() -> dict[int, int]:
    """pid -> parent pid of every process."""
    out = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    out[int(entry.name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return out


def processes() -> dict[str, list[int]]:
    """This process's descendants, by part (:data:`PARTS`, from their command lines)."""
    parents, mine, found = _children(), {os.getpid()}, True
    while found:
        new = {pid for pid, parent in parents.items() if parent in mine and pid not in mine}
        found, mine = bool(new), mine | new
    parts: dict[str, list[int]] = {}
    for pid in sorted(mine - {os.getpid()}):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        for needle, part in PARTS:
            if needle in cmdline:
                parts.setdefault(part, []).append(pid)
                break
    return parts


def cpu_seconds(parts: Mapping[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each part, and of the gateway: the threads of this process but the
    main thread and librdkafka's (``rdk:*``), which belong to the bench (dead threads count too)."""
    out = {}
    for part, pids in parts.items():
        total = 0
        for pid in pids:
            with contextlib.suppress(OSError):
                total += _ticks(f"/proc/{pid}/stat")
        out[part] = total / TICK
    own = _ticks("/proc/self/stat") - _ticks(f"/proc/self/task/{threading.main_thread().native_id}/stat")
    for task in os.scandir("/proc/self/task"):
        with contextlib.suppress(OSError):
            if open(f"/proc/self/task/{task.name}/comm").read().startswith("rdk:"):
                own -= _ticks(f"/proc/self/task/{task.name}/stat")
    out["gateway (bench process threads)"] = own / TICK
    return out


def connections(port: int) -> int:
    """Established TCP connections whose local port is ``port`` (IPv4, this network namespace)."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for row in rows if int(row[1].rsplit(":", 1)[1], 16) == port and row[3] == "01")


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


# -- Kafka edges -----------------------------------------------------------------------------------
def create_topics(bootstrap: str, partitions: Mapping[str, int]) -> None:
    """The step's topics, broker-stamped (LogAppendTime): both ends of a latency on one clock."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = [NewTopic(t, n, 1, config={"message.timestamp.type": "LogAppendTime"}) for t, n in partitions.items()]
    for future in admin.create_topics(topics, request_timeout=30).values():
        future.result(30)


def produce(producer: Producer, records: Iterable[dict]) -> None:
    for record in records:
        value = json.dumps(record, separators=(",", ":")).encode()
        while True:
            try:
                producer.produce(INPUT, value=value, key=record["order_id"].encode(), headers=[("etl-source", b"bench")])
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(60) == 0, "input records not acknowledged"


def paced(producer: Producer, records: list[dict], per_s: float) -> None:
    start = time.perf_counter()
    for i, record in enumerate(records):
        time.sleep(max(0.0, start + i / per_s - time.perf_counter()))
        produce(producer, [record])


@dataclass
class Seen:
    """Records read from topics: key -> [broker timestamps in ms] per topic, dead letters' steps."""

    stamps: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    dead_steps: dict[str, list[str]] = field(default_factory=dict)
    count: int = 0


class Reader:
    """Every partition of ``topics`` from offset 0, no group; ``poll`` keeps what arrives."""

    def __init__(self, bootstrap: str, partitions: Mapping[str, int]):
        self.partitions = dict(partitions)
        # Few, large fetches: the reader only counts (the broker stamps the times), and a fetch
        # per output record would cost the broker what is being measured.
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-realargo-reader",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": 500,
                                  "fetch.min.bytes": 1 << 20})
        self.consumer.assign([TopicPartition(t, p, 0) for t, n in partitions.items() for p in range(n)])
        self.seen = Seen()

    def poll(self, seconds: float) -> int:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            for msg in self.consumer.consume(num_messages=1000, timeout=min(left, 0.1)):
                if msg.error():
                    continue
                kind, stamp = msg.timestamp()
                if kind != TIMESTAMP_LOG_APPEND_TIME:
                    raise RuntimeError(f"{msg.topic()}: timestamp type {kind}, not the broker's (LogAppendTime)")
                key = msg.key().decode()
                if msg.topic() == DEAD:
                    letter = json.loads(msg.value())
                    key = str(letter.get("key") or key)
                    self.seen.dead_steps.setdefault(key, []).append(str(letter.get("step")))
                self.seen.stamps.setdefault(msg.topic(), {}).setdefault(key, []).append(stamp)
                self.seen.count += 1
        return self.seen.count

    def read_to_end(self) -> Seen:
        """Everything up to the high watermarks as of now."""
        ends = {(t, p): self.consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1]
                for t, n in self.partitions.items() for p in range(n)}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.poll(0.2)
            positions = {(tp.topic, tp.partition): tp.offset for tp in self.consumer.position(
                [TopicPartition(t, p) for t, p in ends])}
            if all(positions[tp] >= end for tp, end in ends.items() if end > 0):
                break
        return self.seen

    def close(self) -> None:
        self.consumer.close()


# -- one path --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Path:
    label: str
    real: bool  # the real Argo Events processes; else the stand-in runner
    batch: bool  # keep the committed batch annotation (the stand-in only: Argo ignores it)
    stack: str  # what runs, as printed


PATHS = (
    Path("real, per event", True, False, "Apache Kafka 4.1.1 -> argo-events v1.9.11 eventsource-service -> "
         "nats-server 2.10.29 JetStream -> argo-events sensor-service -> local gateway -> filter worker"),
    Path("stand-in, per event", False, False, "Apache Kafka 4.1.1 -> stand-in runner (devstack.argo, the Sensor "
         "in a process of its own, batch annotation removed) -> local gateway -> filter worker"),
    Path("stand-in, batch 500", False, True, "the same with the committed annotation faas-etl.dev/batch-size: 500"),
)


@dataclass
class Result:
    path: Path
    books: Books
    rate: float = float("nan")  # records/s of the burst, broker clock
    burst_s: float = float("nan")
    latency: dict[str, tuple[float, float]] = field(default_factory=dict)  # phase -> (p50, p99) ms
    cpu: dict[str, float] = field(default_factory=dict)  # part -> seconds over the burst
    idle: dict[str, float] = field(default_factory=dict)  # part -> CPU seconds per second, idle
    window_s: float = 0.0  # wall time the burst's CPU was taken over (produce to last result seen)
    load: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average before and after
    calls: dict[str, tuple[float, float]] = field(default_factory=dict)  # what -> (count, seconds) in the burst
    log_bytes: int = 0  # the Sensor's (or runner's) log over the burst
    # (before, after the burst): connections open to the gateway, threads of this process
    gateway_connections: tuple[int, int] = (0, 0)
    gateway_threads: tuple[int, int] = (0, 0)


def manifests(folder: pathlib.Path, batch: bool) -> pathlib.Path:
    """The committed EventSource and Sensor; without ``batch`` the Sensor loses its batch annotation."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    for path in MANIFESTS:
        docs = [dict(d.body) for d in read_documents(path.parent) if d.file == path.name]
        for doc in docs:
            annotations = (doc.get("metadata") or {}).get("annotations") or {}
            if not batch and doc.get("kind") == "Sensor":
                annotations.pop(BATCH_ANNOTATION, None)
        (folder / path.name).write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    return folder


def _metrics(url: str, auth: tuple[str, str] | None = None) -> dict:
    request = urllib.request.Request(url)
    if auth:
        import base64
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as resp:
        return parse_prometheus(resp.read().decode())


def _summary(metrics: Mapping, name: str, **labels: str) -> tuple[float, float]:
    """(count, sum) of a summary or histogram over the samples whose labels start with ``labels``."""
    def matches(sample_labels) -> bool:
        have = dict(sample_labels)
        return all(have.get(k, "").split(".")[0] == v for k, v in labels.items())
    count = sum(v for (n, ls), v in metrics.items() if n == f"{name}_count" and matches(ls))
    total = sum(v for (n, ls), v in metrics.items() if n == f"{name}_sum" and matches(ls))
    return count, total


def step_calls(stack, runner, real: bool) -> dict[str, tuple[float, float]]:
    """Calls so far and their seconds: the function as the gateway timed it, and on the real path
    the Sensor's trigger actions and the EventSource's events."""
    gateway = _metrics(f"{stack.url}/metrics", (stack.credentials.user, stack.credentials.password))
    out = {"function (gateway)": _summary(gateway, "gateway_functions_seconds", function_name=FUNCTION)}
    if real:
        sensor = _metrics(runner.process("Sensor", SENSOR).metrics_url)
        count, ms = _summary(sensor, "argo_events_action_duration_milliseconds", trigger_name=STEP)
        out["Sensor trigger action"] = (count, ms / 1000)
        source = _metrics(runner.process("EventSource", SOURCE).metrics_url)
        count, ms = _summary(source, "argo_events_event_processing_duration_milliseconds")
        out["EventSource event"] = (count, ms / 1000)
    return out


def sensor_log(runner, real: bool, folder: pathlib.Path) -> pathlib.Path:
    return runner.process("Sensor", SENSOR).log_path if real else folder / "fleet" / "logs" / f"argo-{SENSOR}.log"


def _done(runner, real: bool) -> int:
    """Events the Sensor has finished: acknowledged on the bus (real) or committed (stand-in)."""
    counters = runner.counters.get(SENSOR, {})
    return counters.get("events_in", 0) if real else counters.get("committed", 0)


def wait(reader: Reader, runner, real: bool, visible: int, done: int) -> None:
    """Until ``visible`` records are on the output and dead-letter topics and the Sensor has
    finished ``done`` events; gives up after STALL_S without progress (the books then fail)."""
    last, since = None, time.monotonic()
    while True:
        seen = reader.poll(0.1)
        finished = _done(runner, real) if seen >= visible else -1  # the counters cost the Sensor a scrape
        if seen >= visible and finished >= done:
            return
        if (seen, finished) != last:
            last, since = (seen, finished), time.monotonic()
        elif time.monotonic() - since > STALL_S:
            print(f"    no progress for {STALL_S:.0f} s: {seen} of {visible} results, {finished} of {done} events done",
                  flush=True)
            return


@contextlib.contextmanager
def step_stack(path: Path, folder: pathlib.Path, partitions: Mapping[str, int]) -> Iterator[tuple]:
    """(bootstrap, local stack, started runner) of ``path`` on a fresh broker; torn down after."""
    from devstack.argo.fleet import SensorFleet
    from devstack.kafka_broker import ApacheKafka
    from devstack.localstack import LocalStack

    with contextlib.ExitStack() as down:
        host, argo = "127.0.0.1", None
        if path.real:
            from devstack.realargo.harness import RealArgo
            from devstack.realargo.kafka import PodReachableKafka

            argo = RealArgo(folder / "argo", release_s=0).start()  # the broker goes with the run
            down.callback(argo.stop)
            kafka = PodReachableKafka(argo.host, data_dir=folder / "kafka").start()
            host = argo.host
        else:
            kafka = ApacheKafka(data_dir=folder / "kafka").start()
        down.callback(kafka.stop)
        create_topics(kafka.bootstrap, partitions)
        stack = LocalStack(run_dir=folder / "stack", kafka_bootstrap=kafka.bootstrap, host=host, functions=[FUNCTION])
        down.callback(stack.down)
        stack.up()
        step = manifests(folder / "manifests", path.batch)
        if path.real:
            runner = argo.runner(step, kafka.pod_bootstrap, stack.url).start()
        else:
            runner = SensorFleet(step, kafka.bootstrap, stack.url, run_dir=folder / "fleet",
                                 secrets_dir=stack.secrets_dir).start()
        down.callback(runner.stop)
        yield kafka.bootstrap, stack, runner


def _latencies(keys: Iterable[str], seen_in: Seen, seen_out: Seen) -> list[float]:
    ins = seen_in.stamps.get(INPUT, {})
    out = []
    for key in keys:
        ends = seen_out.stamps.get(OUTPUT, {}).get(key) or seen_out.stamps.get(DEAD, {}).get(key)
        if ends and key in ins:
            out.append(ends[0] - ins[key][0])
    return out


def run_path(path: Path, folder: pathlib.Path, partitions: Mapping[str, int]) -> Result:
    phases = {"warm-up": [order("W", i) for i in range(WARMUP)],
              "burst": [order("B", i) for i in range(RECORDS)],
              "paced": [order("P", i) for i in range(PACED)]}
    expected = {r["order_id"]: fate(r) for records in phases.values() for r in records}
    result = Result(path, balance({}, [], []))
    with step_stack(path, folder, partitions) as (bootstrap, stack, runner):
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "allow.auto.create.topics": False})
        reader = Reader(bootstrap, {OUTPUT: partitions[OUTPUT], DEAD: partitions[DEAD]})
        try:
            visible = sent = 0
            for name, records in phases.items():
                if name == "burst":  # after the warm-up: every process and metrics server is up
                    parts = processes()
                    idle = cpu_seconds(parts)
                    time.sleep(IDLE_S)
                    before = (cpu_seconds(parts), step_calls(stack, runner, path.real),
                              sensor_log(runner, path.real, folder).stat().st_size, time.perf_counter())
                    result.idle = {part: (before[0][part] - idle[part]) / IDLE_S for part in idle}
                    result.load = (os.getloadavg()[0], 0.0)
                    port = urllib.parse.urlsplit(stack.url).port
                    result.gateway_connections, result.gateway_threads = (connections(port), 0), (threads(), 0)
                if name == "paced":
                    paced(producer, records, PACE_PER_S)
                else:
                    produce(producer, records)
                sent += len(records)
                visible += sum(fate(r) != "filtered" for r in records)
                wait(reader, runner, path.real, visible, sent)
                if name == "burst":
                    cpu, result.window_s = cpu_seconds(parts), time.perf_counter() - before[3]
                    result.load = (result.load[0], os.getloadavg()[0])
                    result.gateway_connections = (result.gateway_connections[0], connections(port))
                    result.gateway_threads = (result.gateway_threads[0], threads())
                    result.cpu = {part: cpu[part] - before[0].get(part, 0.0) for part in cpu}
                    calls = step_calls(stack, runner, path.real)
                    result.calls = {k: (calls[k][0] - before[1][k][0], calls[k][1] - before[1][k][1]) for k in calls}
                    result.log_bytes = sensor_log(runner, path.real, folder).stat().st_size - before[2]
                print(f"  {path.label}: {name} done ({len(records)} records)", flush=True)
        finally:
            del producer  # its threads go before the broker does
            runner.stop()  # in-flight calls end first: a duplicate they make is on the topics below
            seen = reader.read_to_end()
            reader.close()
        inputs = Reader(bootstrap, {INPUT: partitions[INPUT]})
        try:
            seen_in = inputs.read_to_end()
        finally:
            inputs.close()
    outputs = [k for k, stamps in seen.stamps.get(OUTPUT, {}).items() for _ in stamps]
    dead = [k for k, steps in seen.dead_steps.items() for step in steps]  # another step's letter: a stranger
    result.books = balance(expected, outputs, [k if all(s == STEP for s in seen.dead_steps[k]) else f"{k}@other-step"
                                               for k in dead])
    burst = [r["order_id"] for r in phases["burst"]]
    ins = [seen_in.stamps.get(INPUT, {}).get(k, [None])[0] for k in burst]
    ends = [s for k in burst for topic in (OUTPUT, DEAD) for s in seen.stamps.get(topic, {}).get(k, [])]
    if ends and all(t is not None for t in ins):
        result.burst_s = (max(ends) - min(ins)) / 1000
        result.rate = RECORDS / result.burst_s
    for name in ("burst", "paced"):
        values = _latencies((r["order_id"] for r in phases[name]), seen_in, seen)
        result.latency[name] = (percentile(values, 0.5), percentile(values, 0.99))
    return result


# -- report ----------------------------------------------------------------------------------------
def _us(seconds: float) -> float:
    return 1e6 * seconds / RECORDS


def _net(r: Result, part: str) -> float:
    """CPU seconds of ``part`` over the burst above what it burns idle over as long."""
    return r.cpu.get(part, 0.0) - r.idle.get(part, 0.0) * r.window_s


def report(results: list[Result]) -> None:
    nan2 = (float("nan"), float("nan"))
    print(f"\n{RECORDS} records in the burst, {PACED} paced at {PACE_PER_S:g}/s for the latency; "
          f"broker timestamps (LogAppendTime) at both ends")
    print(f"{'path':<22} {'records/s':>10} {'burst s':>8} {'latency p50 / p99 ms, paced':>28} "
          f"{'in the burst':>15} {'CPU us/record':>14} {'above idle':>11} {'load avg':>10}")
    for r in results:
        (p50, p99), (b50, b99) = r.latency.get("paced", nan2), r.latency.get("burst", nan2)
        print(f"{r.path.label:<22} {r.rate:10.1f} {r.burst_s:8.2f} {p50:14.1f} / {p99:<11.1f} "
              f"{b50:7.0f} / {b99:<5.0f} {_us(sum(r.cpu.values())):14.0f} "
              f"{_us(sum(_net(r, p) for p in r.cpu)):11.0f} {r.load[0]:4.1f}-{r.load[1]:<4.1f}")
    real, stand = results[0], results[1]
    print(f"real / stand-in, per event: records/s {real.rate / stand.rate:.2f}x, latency p50 "
          f"{real.latency['paced'][0] / stand.latency['paced'][0]:.2f}x, p99 "
          f"{real.latency['paced'][1] / stand.latency['paced'][1]:.2f}x, CPU per record "
          f"{sum(real.cpu.values()) / sum(stand.cpu.values()):.2f}x "
          f"({sum(_net(real, p) for p in real.cpu) / sum(_net(stand, p) for p in stand.cpu):.2f}x above idle)")
    print("CPU per record over the burst, us, by process (above idle in brackets):")
    print(f"  {'':<32}" + "".join(f"{r.path.label:>24}" for r in results))
    for part in sorted({p for r in results for p in r.cpu if r.cpu[p] > 0}):
        print(f"  {part:<32}" + "".join(f"{f'{_us(r.cpu.get(part, 0.0)):.0f} ({_us(_net(r, part)):.0f})':>24}"
                                        for r in results))
    print("per call over the burst (count x mean ms):")
    for r in results:
        calls = ", ".join(f"{k} {n:.0f} x {1000 * s / n:.2f}" for k, (n, s) in r.calls.items() if n)
        print(f"  {r.path.label:<22} one record every {1000 / r.rate:.2f} ms; {calls}; "
              f"Sensor log {r.log_bytes / RECORDS:.0f} bytes/record; connections open to the gateway "
              f"{r.gateway_connections[0]} -> {r.gateway_connections[1]}, threads of the gateway's process "
              f"{r.gateway_threads[0]} -> {r.gateway_threads[1]}")
    n, action = real.calls.get("Sensor trigger action", (0, 0.0))
    m, function = real.calls.get("function (gateway)", (0, 0.0))
    if n and m:
        every, act, fn = 1000 / real.rate, 1000 * action / n, 1000 * function / m
        print(f"where an event's {every:.2f} ms go on the real path: the function {fn:.2f} (as the gateway "
              f"times it), the Sensor's HTTP call around it {act - fn:.2f}, the rest of the Sensor's loop "
              f"(fetch one from JetStream, decode, filter, build the payload, AckSync) {every - act:.2f}")
    for r in results:
        b = r.books
        print(f"books, {r.path.label}: in {b.inputs} = out {b.out} + filtered {b.filtered} + dead-lettered {b.dead}: "
              + ("balanced" if not b.problems else f"NOT BALANCED ({len(b.problems)} problems)"))
        for problem in b.problems[:10]:
            print(f"    {problem}")


def missing() -> list[str]:
    from devstack.realargo import podnet

    reasons = []
    for find in (realtools.argo_events, realtools.nats_server, realtools.kafka_classpath, realtools.java):
        try:
            find()
        except realtools.ToolMissing as exc:
            reasons.append(str(exc))
    if why := podnet.available():
        reasons.append(why)
    if not shutil.which("openssl"):
        reasons.append("no `openssl` on PATH (the EventBus's TLS certificate)")
    return reasons


def main() -> int:
    if why := missing():
        print("real components missing, skipped: " + "; ".join(why))
        return 1 if os.getenv("CI") else 0
    partitions = {t: n for t, n in workflow_topics(read_documents(REPO / "k8s" / "topics"), "orders").items()
                  if t in (INPUT, OUTPUT, DEAD)}
    for path in PATHS:
        print(f"{path.label}: {path.stack}")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-realargo-") as tmp:
        for i, path in enumerate(PATHS):
            started = time.perf_counter()
            results.append(run_path(path, pathlib.Path(tmp) / f"path-{i + 1}", partitions))
            print(f"  {path.label}: {time.perf_counter() - started:.1f} s with setup and teardown", flush=True)
    report(results)
    return 0 if all(not r.books.problems for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
