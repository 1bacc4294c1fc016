"""One step through the real Argo Events processes, per event, beside the stand-in runner (issue 14).

The step is the orders workflow's filter, ``paid-only``: its committed EventSource
(``argo-events/event-sources/orders-raw.yaml``) and Sensor (``argo-events/sensors/
orders-paid-only.yaml``), localised, over the same generated orders on three stacks, each its own
(its own Apache Kafka 4.1.1 node, gateway and ``filter`` replica):

1. ``real``: Apache Kafka -> the real ``eventsource-service`` -> nats-server JetStream (the
   EventBus) -> the real ``sensor-service`` (v1.9.11, each in a pod netns of its own,
   devstack/realargo) -> the local gateway -> the filter worker -> Kafka. Argo calls once per event.
2. ``stand-in``: the local runner (``devstack.argo``, the Sensor in a process of its own as
   :class:`~devstack.argo.fleet.SensorFleet` runs it) on the same manifests with the
   ``faas-etl.dev/batch-size`` annotation removed, so it too calls once per event.
3. ``stand-in, batch``: the same with the committed annotation (500 records per call), for reference.

All three stacks are up at once and take turns, so a load that comes and goes on a shared machine
falls on each alike: after a few warm-up records each, ``FAAS_ETL_BENCH_REAL_REPEAT`` (3) rounds in
which every path gets a burst of ``FAAS_ETL_BENCH_REAL_RECORDS`` (3000) records produced at once,
for records/s from the first input record's broker timestamp to the last result's (output or dead
letter); the summary takes each path's best burst (Python's ``timeit`` rule: another tenant's load
only ever slows a run down) and prints the median and every burst beside it. Then
``FAAS_ETL_BENCH_REAL_PACED`` (100) records at ``FAAS_ETL_BENCH_REAL_PACE`` (20) per second, well
under every path's rate, for the per-record latency: the result's broker timestamp minus the
input's. Every topic is created with ``message.timestamp.type=LogAppendTime``, so both ends are
stamped by the same broker clock (the function's own timestamp, the record's event time, is
overwritten). CPU per record of a burst comes from ``/proc`` (utime + stime) of every process of
that path's stack: the Argo processes, nats-server, the stand-in runner, the function worker, the
broker JVM, and the gateway (threads of this process: all of them but the main thread and
librdkafka's; the other paths' gateways idle meanwhile); "above idle" takes off what each burned
per second over the 2 s before the burst. Beside it: the function's time as the gateway measures
it, the real Sensor's and EventSource's own duration metrics (their Prometheus endpoint, :7777 in
their pods), and the connections left open to the gateway.

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
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

REPO = pathlib.Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from devstack import realtools  # noqa: E402
from devstack.pipeline.selection import read_documents, workflow_topics  # noqa: E402
from etlkit import wire  # noqa: E402
from etlkit.controller.measure import parse_prometheus  # noqa: E402

RECORDS = int(os.getenv("FAAS_ETL_BENCH_REAL_RECORDS", "3000"))
PACED = int(os.getenv("FAAS_ETL_BENCH_REAL_PACED", "100"))
PACE_PER_S = float(os.getenv("FAAS_ETL_BENCH_REAL_PACE", "20"))
REPEAT = int(os.getenv("FAAS_ETL_BENCH_REAL_REPEAT", "3"))
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
    """Order ``i`` of a phase: about two thirds pass, one in 97 has an amount that is not a number."""
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


def processes(folder: pathlib.Path) -> dict[str, list[int]]:
    """This process's descendants that belong to the stack in ``folder`` (its path in their command
    line or working folder), by part (:data:`PARTS`, from their command lines)."""
    parents, mine, found = _children(), {os.getpid()}, True
    while found:
        new = {pid for pid, parent in parents.items() if parent in mine and pid not in mine}
        found, mine = bool(new), mine | new
    parts: dict[str, list[int]] = {}
    for pid in sorted(mine - {os.getpid()}):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if str(folder) not in cmdline and not cwd.startswith(str(folder)):
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


def connections(port: int) -> frozenset[str]:
    """The far ends of the established TCP connections whose local port is ``port`` (IPv4, this
    network namespace): a connection opened meanwhile is one more in the set."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return frozenset(row[2] for row in rows if int(row[1].rsplit(":", 1)[1], 16) == port and row[3] == "01")


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
                # Our functions write record batches: every record of one is stamped with its
                # message's append time (a plain message, the input's, is one record).
                _batch, entries, _end = wire.unbatch(msg.value(), msg.headers(), msg.key())
                for entry in entries:
                    key = str(entry["key"])
                    if msg.topic() == DEAD:
                        letter = entry["value"]
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
NAN = float("nan")


@dataclass
class Burst:
    """One burst of RECORDS records through one path: what /proc, the metrics and the topics said."""

    keys: list[str]
    idle: dict[str, float]  # part -> CPU seconds per second before the burst, nothing to do
    load: tuple[float, float]  # the machine's 1-minute load average before and after
    cpu: dict[str, float] = field(default_factory=dict)  # part -> CPU seconds over the window
    window_s: float = 0.0  # wall time the CPU was taken over (produce to the last result seen)
    calls: dict[str, tuple[float, float]] = field(default_factory=dict)  # what -> (count, seconds)
    connections: tuple[int, int, int] = (0, 0, 0)  # open to the gateway before, after; opened meanwhile
    threads: tuple[int, int] = (0, 0)  # of this process (the gateway's), before and after
    seconds: float = NAN  # first input record to last result, broker clock
    latency: tuple[float, float] = (NAN, NAN)  # p50, p99 ms

    @property
    def rate(self) -> float:
        return len(self.keys) / self.seconds

    def cpu_us(self, part: str | None = None) -> float:
        """CPU microseconds per record, of one part or of all."""
        seconds = self.cpu.get(part, 0.0) if part else sum(self.cpu.values())
        return 1e6 * seconds / len(self.keys)

    def net_us(self, part: str | None = None) -> float:
        """The same above what the part(s) burn idle over as long."""
        idle = self.idle.get(part, 0.0) if part else sum(self.idle.values())
        return self.cpu_us(part) - 1e6 * idle * self.window_s / len(self.keys)


def manifests(folder: pathlib.Path, batch: bool) -> pathlib.Path:
    """The committed EventSource and Sensor; without ``batch`` the Sensor loses its batch annotation."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    for path in MANIFESTS:
        docs = [dict(d.body) for d in read_documents(path.parent) if d.file == path.name]
        for doc in docs:
            if not batch and doc.get("kind") == "Sensor":
                ((doc.get("metadata") or {}).get("annotations") or {}).pop(BATCH_ANNOTATION, None)
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


def _latencies(keys: Iterable[str], ins: Seen, outs: Seen) -> list[float]:
    """Per record with a result: the result's broker timestamp minus the input's, ms."""
    stamps_in = ins.stamps.get(INPUT, {})
    out = []
    for key in keys:
        ends = outs.stamps.get(OUTPUT, {}).get(key) or outs.stamps.get(DEAD, {}).get(key)
        if ends and key in stamps_in:
            out.append(ends[0] - stamps_in[key][0])
    return out


class StepRun:
    """One path's fresh stack (broker, gateway, filter replica, runner), fed phase by phase;
    every record it was given is in ``expected``; :meth:`finish` reads the topics back."""

    def __init__(self, path: Path, folder: pathlib.Path, partitions: Mapping[str, int], down: contextlib.ExitStack):
        from devstack.argo.fleet import SensorFleet
        from devstack.kafka_broker import ApacheKafka
        from devstack.localstack import LocalStack

        self.path, self.folder = path, folder
        host = "127.0.0.1"
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
        self.stack = LocalStack(run_dir=folder / "stack", kafka_bootstrap=kafka.bootstrap, host=host,
                                functions=[FUNCTION])
        down.callback(self.stack.down)
        self.stack.up()
        step = manifests(folder / "manifests", path.batch)
        if path.real:
            self.runner = argo.runner(step, kafka.pod_bootstrap, self.stack.url).start()
        else:
            self.runner = SensorFleet(step, kafka.bootstrap, self.stack.url, run_dir=folder / "fleet",
                                      secrets_dir=self.stack.secrets_dir).start()
        down.callback(self.runner.stop)
        self.producer: Producer | None = Producer({"bootstrap.servers": kafka.bootstrap, "linger.ms": 5,
                                                   "allow.auto.create.topics": False})
        down.callback(self._drop_producer)  # its threads go before the broker does
        self.results = Reader(kafka.bootstrap, {OUTPUT: partitions[OUTPUT], DEAD: partitions[DEAD]})
        down.callback(self.results.close)
        self.inputs = Reader(kafka.bootstrap, {INPUT: partitions[INPUT]})
        down.callback(self.inputs.close)
        self.expected: dict[str, str] = {}
        self.visible = 0  # results expected on the output and dead-letter topics so far
        self.bursts: list[Burst] = []
        self.paced_keys: list[str] = []
        self.paced_ms: list[float] = []
        self.books: Books | None = None

    def _drop_producer(self) -> None:
        self.producer = None

    def feed(self, records: list[dict], per_s: float | None = None) -> None:
        """Produce ``records`` (at ``per_s`` when given) and wait until the step is done with them."""
        if per_s:
            paced(self.producer, records, per_s)
        else:
            produce(self.producer, records)
        self.expected.update((r["order_id"], fate(r)) for r in records)
        self.visible += sum(fate(r) != "filtered" for r in records)
        wait(self.results, self.runner, self.path.real, self.visible, len(self.expected))

    def burst(self, prefix: str) -> Burst:
        """RECORDS records at once, measured; the stack idles IDLE_S first (its idle CPU)."""
        records = [order(prefix, i) for i in range(RECORDS)]
        parts, port = processes(self.folder), urllib.parse.urlsplit(self.stack.url).port
        idle = cpu_seconds(parts)
        time.sleep(IDLE_S)
        before, calls = cpu_seconds(parts), step_calls(self.stack, self.runner, self.path.real)
        burst = Burst([r["order_id"] for r in records], {p: (before[p] - idle[p]) / IDLE_S for p in idle},
                      (os.getloadavg()[0], NAN), threads=(threads(), 0))
        open_before = connections(port)
        started = time.perf_counter()
        self.feed(records)
        after, burst.window_s = cpu_seconds(parts), time.perf_counter() - started
        burst.load = (burst.load[0], os.getloadavg()[0])
        open_after, burst.threads = connections(port), (burst.threads[0], threads())
        burst.connections = (len(open_before), len(open_after), len(open_after - open_before))
        burst.cpu = {p: after[p] - before[p] for p in after}
        now = step_calls(self.stack, self.runner, self.path.real)
        burst.calls = {k: (now[k][0] - calls[k][0], now[k][1] - calls[k][1]) for k in now}
        ins, outs = self.inputs.read_to_end(), self.results.seen
        first = min(ins.stamps[INPUT][k][0] for k in burst.keys)
        last = max(s for k in burst.keys for t in (OUTPUT, DEAD) for s in outs.stamps.get(t, {}).get(k, []))
        burst.seconds = (last - first) / 1000
        values = _latencies(burst.keys, ins, outs)
        burst.latency = (percentile(values, 0.5), percentile(values, 0.99))
        self.bursts.append(burst)
        return burst

    def pace(self) -> None:
        records = [order("P", i) for i in range(PACED)]
        self.feed(records, PACE_PER_S)
        self.paced_keys = [r["order_id"] for r in records]

    def finish(self) -> None:
        """Stop the runner (in-flight calls end first: a duplicate they make is read here), read
        every topic to its end and keep the books."""
        self.runner.stop()
        seen = self.results.read_to_end()
        outputs = [k for k, stamps in seen.stamps.get(OUTPUT, {}).items() for _ in stamps]
        # A dead letter of another step has no business here: its key becomes a stranger to the books.
        dead = [k if step == STEP else f"{k}@{step}" for k, steps in seen.dead_steps.items() for step in steps]
        self.books = balance(self.expected, outputs, dead)
        self.paced_ms = sorted(_latencies(self.paced_keys, self.inputs.read_to_end(), seen))


# -- report ----------------------------------------------------------------------------------------
def best(run: StepRun) -> Burst:
    """The fastest burst: on a shared machine another tenant's load only ever slows one down."""
    return max(run.bursts, key=lambda b: b.rate)


def _rates(run: StepRun) -> str:
    rates = sorted(b.rate for b in run.bursts)
    return f"{rates[-1]:7.0f} ({statistics.median(rates):5.0f}, {rates[0]:5.0f})"


def report(runs: list[StepRun]) -> None:
    print(f"\n{REPEAT} bursts of {RECORDS} records per path, the paths taking turns; then {PACED} records paced "
          f"at {PACE_PER_S:g}/s for the latency; times from the broker's LogAppendTime stamps at both ends")
    print(f"{'round':>5} {'path':<22} {'records/s':>9} {'s':>6} {'latency p50/p99 ms':>19} {'CPU us/rec':>10} "
          f"{'above idle':>10} {'load avg':>11} {'new gateway conns':>17}")
    for i in range(REPEAT):
        for run in runs:
            b = run.bursts[i]
            print(f"{i + 1:>5} {run.path.label:<22} {b.rate:9.1f} {b.seconds:6.2f} {b.latency[0]:9.0f} / {b.latency[1]:<7.0f} "
                  f"{b.cpu_us():10.0f} {b.net_us():10.0f} {b.load[0]:5.1f}-{b.load[1]:<5.1f} "
                  f"{b.connections[2]:17d}")
    print(f"\n{'path':<22} {'records/s best (median, lowest)':>32} {'latency p50 / p99 ms, paced':>28} "
          f"{'CPU us/record, best burst (above idle)':>39}")
    for run in runs:
        b, paced_ms = best(run), run.paced_ms
        print(f"{run.path.label:<22} {_rates(run):>32} {percentile(paced_ms, 0.5):14.0f} / {percentile(paced_ms, 0.99):<11.0f} "
              f"{b.cpu_us():30.0f} ({b.net_us():.0f})")
    real, stand = runs[0], runs[1]
    median = {run.path.label: statistics.median(b.rate for b in run.bursts) for run in runs[:2]}
    print(f"real / stand-in, per event: records/s {best(real).rate / best(stand).rate:.2f}x best to best, "
          f"{median[real.path.label] / median[stand.path.label]:.2f}x median to median; paced latency p50 "
          f"{percentile(real.paced_ms, 0.5) / percentile(stand.paced_ms, 0.5):.2f}x, p99 "
          f"{percentile(real.paced_ms, 0.99) / percentile(stand.paced_ms, 0.99):.2f}x; CPU per record "
          f"{best(real).cpu_us() / best(stand).cpu_us():.2f}x ({best(real).net_us() / best(stand).net_us():.2f}x above idle)")
    for run in runs:
        ms = run.paced_ms
        print(f"  {run.path.label:<22} paced latency, ms: min {ms[0]:.0f}, p10 {percentile(ms, 0.1):.0f}, "
              f"p50 {percentile(ms, 0.5):.0f}, p90 {percentile(ms, 0.9):.0f}, p99 {percentile(ms, 0.99):.0f}, "
              f"max {ms[-1]:.0f} ({len(ms)} results)" if ms else f"  {run.path.label:<22} no paced result")
    print("CPU per record of each path's best burst, us, by process (above idle in brackets):")
    print(f"  {'':<32}" + "".join(f"{run.path.label:>24}" for run in runs))
    for part in sorted({p for run in runs for p, s in best(run).cpu.items() if s > 0}):
        print(f"  {part:<32}" + "".join(f"{f'{best(run).cpu_us(part):.0f} ({best(run).net_us(part):.0f})':>24}"
                                        for run in runs))
    print("calls of each path's best burst (count x mean ms):")
    for run in runs:
        b = best(run)
        calls = ", ".join(f"{k} {n:.0f} x {1000 * s / n:.2f}" for k, (n, s) in b.calls.items() if n)
        print(f"  {run.path.label:<22} one record every {1000 / b.rate:.2f} ms; {calls}; connections open to "
              f"the gateway {b.connections[0]} -> {b.connections[1]} ({b.connections[2]} opened), threads of its process {b.threads[0]} -> {b.threads[1]}")
    b = best(real)
    (n, action), (m, function) = b.calls.get("Sensor trigger action", (0, 0.0)), b.calls.get("function (gateway)", (0, 0.0))
    if n and m:
        every, act, fn = 1000 / b.rate, 1000 * action / n, 1000 * function / m
        print(f"where an event's {every:.2f} ms go on the real path (its best burst): the function {fn:.2f} (as the "
              f"gateway times it), the Sensor's HTTP call around it (a new connection each time) {act - fn:.2f}, the "
              f"rest of the Sensor's loop (decode, filter, build the payload, take the next event: its Fetch(1) and "
              f"the last one's AckSync overlap the call) {every - act:.2f}")
    for run in runs:
        k = run.books
        print(f"books, {run.path.label}: in {k.inputs} = out {k.out} + filtered {k.filtered} + dead-lettered {k.dead}: "
              + ("balanced" if not k.problems else f"NOT BALANCED ({len(k.problems)} problems)"))
        for problem in k.problems[:10]:
            print(f"    {problem}")


IO_HOLD_MS = int(os.getenv("FAAS_ETL_BENCH_IO_HOLD_MS", "100"))
IO_BATCHES = int(os.getenv("FAAS_ETL_BENCH_IO_BATCHES", "10"))  # per partition, per phase
IO_PER_BATCH = 50
IO_GOAL = 1.8


def io_bound() -> bool:
    """An I/O-bound step at 1 and 2 function replicas on its committed lanes (issue 15 item 2).

    The committed ``orders-raw`` EventSource (six lanes, one per partition) and ``orders-paid-only``
    Sensor (a trigger per lane) on the real processes, their triggers calling the probe function,
    which waits ``IO_HOLD_MS`` per call as a remote lookup would and serves one call at a time per
    replica (devstack/realargo/lanes.py). ``REPEAT`` rounds of a phase at 1 replica then one at 2
    (scaled through the gateway), each ``IO_BATCHES`` batches of ``IO_PER_BATCH`` records on every
    partition produced at once; records/s from the first produce to the last answer, each
    replica count's best phase. Goals: >= ``IO_GOAL``x with 2 replicas, every record exactly
    once, each partition in order, and as many calls in flight as replicas.
    """
    from devstack.realargo.lanes import LaneRun, ratio
    from devstack.realstack import real_stack

    print(f"\nI/O-bound step ({IO_HOLD_MS} ms per call), 1 vs 2 replicas: Apache Kafka 4.1.1 -> real "
          f"eventsource-service (6 lanes) -> nats-server 2.10.29 JetStream -> real sensor-service v1.9.11 "
          f"(a trigger per lane) -> local gateway -> probe replicas (one call at a time each)", flush=True)
    phases: dict[int, list] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="bench-lanes-") as tmp:
        run_dir = pathlib.Path(tmp)
        with real_stack(run_dir, kafka_data=run_dir / "kafka") as parts, LaneRun(parts, run_dir, IO_HOLD_MS) as run:
            run.phase("W", 1, 1, 1)  # every lane joined its group, every trigger called once
            for i in range(REPEAT):
                for replicas in (1, 2):
                    run.scale(replicas)
                    phase = run.phase(f"IO{i}R{replicas}", replicas, IO_BATCHES, IO_PER_BATCH)
                    phases[replicas].append(phase)
                    print(f"  round {i + 1}, {replicas} replica(s): {phase.to_dict()}", flush=True)
    one, two = (max(phases[r], key=lambda p: p.rate) for r in (1, 2))
    got = ratio(one, two)
    every = [p for ps in phases.values() for p in ps]
    books_ok = all((p.missing, p.doubled, p.out_of_order) == (0, 0, 0) and p.in_flight == p.replicas for p in every)
    print(f"  best: 1 replica {one.rate:.0f} records/s ({one.calls} calls in {one.seconds:.2f} s), 2 replicas "
          f"{two.rate:.0f} records/s ({two.calls} calls in {two.seconds:.2f} s): {got:.2f}x (goal >= {IO_GOAL}x); "
          f"every record once, in partition order, calls in flight = replicas in every phase: "
          f"{'yes' if books_ok else 'NO'}")
    return got >= IO_GOAL and books_ok


def main() -> int:
    if why := realtools.real_parts_missing():
        print("real components missing, skipped: " + "; ".join(why))
        return 1 if os.getenv("CI") else 0
    partitions = {t: n for t, n in workflow_topics(read_documents(REPO / "k8s" / "topics"), "orders").items()
                  if t in (INPUT, OUTPUT, DEAD)}
    for path in PATHS:
        print(f"{path.label}: {path.stack}")
    with tempfile.TemporaryDirectory(prefix="bench-realargo-") as tmp, contextlib.ExitStack() as down:
        runs = []
        for i, path in enumerate(PATHS):
            started = time.perf_counter()
            runs.append(StepRun(path, pathlib.Path(tmp) / f"path-{i + 1}", partitions, down))
            runs[-1].feed([order("W", i) for i in range(WARMUP)])  # the replica's first call, the groups joined
            print(f"  {path.label}: up and warm in {time.perf_counter() - started:.1f} s", flush=True)
        for i in range(REPEAT):
            for run in runs:
                b = run.burst(f"B{i + 1}-")
                print(f"  round {i + 1}, {run.path.label}: {b.rate:.0f} records/s", flush=True)
        for run in runs:
            run.pace()
            run.finish()
    report(runs)
    scaled = io_bound()
    return 0 if scaled and all(not run.books.problems for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
