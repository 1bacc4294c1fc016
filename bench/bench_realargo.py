"""The orders workflow through the real Argo Events processes, against its baselines (issue 15).

Every measurement runs the whole data path of ``workflows/orders.yaml`` (filter -> map -> enrich
-> aggregate -> warehouse loader, all five committed Sensors) over the input a bounded source
writes (bench/bench_pipeline.py ``source_messages``: record batches of up to ``wire.MAX_RECORDS``
records of one partition, keyed by the CRC-32 of the key, ``"end": true`` on each partition's last
batch), each on a fresh stack, measured by bench_pipeline's ``measure_workflow``: the workflow
runs first, and once every consumer group it reads with has settled (stable, all its members,
every partition assigned: a group still joining stops its members at each rebalance) the input is
written; records/s from that moment until every group has caught up and, on the real path, the
EventBus holds no event a Sensor has not acknowledged (enough records that the pipeline's filling
and draining weigh little; the last step's own rate from 10% to 90% of its input is printed
beside, for information), with the CPU each part used meanwhile (utime + stime from /proc: the
function workers, the broker, the Argo processes, the EventBus, the stand-in runner, the
gateway's threads, and the bench's own polls):

1. ``real``: Apache Kafka 4.1.1 -> the real ``eventsource-service`` -> nats-server 2.10.29
   JetStream -> the real ``sensor-service`` (argo-events v1.9.11, each in a pod netns of its own,
   devstack/realstack.py) -> the local gateway -> the function workers -> Kafka; one call per
   Kafka message, as Argo makes them.
   (a) against the raw loop (bench_pipeline ``ceiling``: one process doing what one step must:
   consume the same batches -> decode -> the map step -> batches -> produce, acknowledged)
   measured on the same broker just before: goal >= 0.15x;
2. ``stand-in``: the same workflow, the same Apache Kafka build, the stand-in runner
   (``devstack.argo``, each Sensor in a process of its own): (b) real >= 0.7x of it;
3. ``real, per event``: the real path with one record per Kafka message, as every message was
   before issue 15 (``FAAS_ETL_BENCH_REAL_EVENTS`` records: it is slow): (c) batched >= 30x;
4. latency: the real path fed at half the median real rate of 1., in rounds of ``ROUND_RECORDS``
   records, each round ``allowed_lateness + window`` of event time after the one before, so
   round r's records, once on every partition of the aggregate, close round r-1's windows: the
   latency of a window is from round r's write at the source to its row in the warehouse (polled
   every ``POLL_S``), the whole data path in between; p50 and p99 over the windows the paced
   rounds close (``WARM_ROUNDS`` rounds first, the paced clock started once the first one's
   windows are in the warehouse: the groups joined, every function called once);
5. the I/O-bound step at 1 and 2 replicas on its committed lanes (:func:`io_bound`): >= 1.8x.

Every workflow run is checked (bench_pipeline ``check_output``, the oracle of
bench/pipeline_check.py): no record dead-lettered as late, and the warehouse holds exactly the
windows a plain group-by computes from the input, so none lost and none doubled.

``FAAS_ETL_BENCH_REAL_ROUNDS`` (3) rounds of 1. and 2., alternating, each 1. after its own raw
loop; (a) and (b) are ratios within a round (two rates taken a minute apart: a load that lasts
minutes hits both), each goal judged on the median over the rounds, with the spread printed and
the 1-minute load average beside every figure (other sessions share the machine's two cores).
Sizes: ``FAAS_ETL_BENCH_REAL_RECORDS`` (360 000) through 1., 2. and the raw loop,
``FAAS_ETL_BENCH_REAL_EVENTS`` (1 000) through 3., ``FAAS_ETL_BENCH_REAL_PACED_S`` (20) seconds of
4. Needs what the real-parts tests need (`make tools`, root for the pod netns, openssl); without
it the bench says what is missing and skips (it fails instead when ``CI`` is set).
"""
from __future__ import annotations

import contextlib
import functools
import os
import pathlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

REPO = pathlib.Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_pipeline import (Check, Measured, _caught_up, _run, _topics, _verdict,  # noqa: E402
                                  aggregate_step, bench_offsets, ceiling, check_output, expected_rows,
                                  measure_workflow, produce, producer_for, source_messages, worker_pids)
from bench.pipeline_check import START_MS, orders  # noqa: E402
from devstack import realtools  # noqa: E402
from devstack.pipeline.sqldb import read_table  # noqa: E402
from etlkit import wire  # noqa: E402
from etlkit.steps.aggregation import AggregateConfig  # noqa: E402
from etlkit.workflow import Workflow, load_workflow  # noqa: E402
from etlkit.workflow.model import thaw  # noqa: E402

# Enough records that a round's real run lasts some 20-40 s: 90 messages of 4000, 15 per lane, so
# the pipeline's filling and draining (about one message per lane per hop) weigh little, and a
# run outlasts a burst of another tenant's load.
RECORDS = int(os.getenv("FAAS_ETL_BENCH_REAL_RECORDS", "360000"))
ROUNDS = int(os.getenv("FAAS_ETL_BENCH_REAL_ROUNDS", "3"))  # real and stand-in runs, alternating
EVENTS = int(os.getenv("FAAS_ETL_BENCH_REAL_EVENTS", "1000"))
PACED_S = float(os.getenv("FAAS_ETL_BENCH_REAL_PACED_S", "20"))
REPEAT = int(os.getenv("FAAS_ETL_BENCH_REAL_REPEAT", "3"))  # the I/O-bound phases' rounds
# A paced round: about 400 records on each of orders-raw's 6 partitions, one message each, near
# the 500-record batches the best rate was measured with (smaller ones cost more per record: a
# real Sensor's cost is per message, and half the best rate would then be more than half).
ROUND_RECORDS = 2400
WARM_ROUNDS = 2  # written before the paced clock starts: the first closes none, the second the first
POLL_S = 0.02  # the warehouse read this often during the paced run: latencies are this coarse
STALL_S = 90.0  # a paced run's windows not all in the warehouse by then: the check names them
CEILING_GOAL, STAND_IN_GOAL, PER_EVENT_GOAL = 0.15, 0.7, 30.0
REAL = ("Apache Kafka 4.1.1 -> argo-events v1.9.11 eventsource-service -> nats-server 2.10.29 "
        "JetStream -> argo-events sensor-service -> local gateway -> function workers")
STAND_IN = "Apache Kafka 4.1.1 -> stand-in runner (devstack.argo, a process per Sensor) -> local gateway -> function workers"


def load() -> float:
    """The machine's 1-minute load average now: printed beside every figure (other sessions
    share the 2 cores; a rate taken at load 12 is not one taken at load 1)."""
    return os.getloadavg()[0]


@dataclass(frozen=True)
class WholeRun:
    """The whole workflow over ``records`` records once: its rates and CPU, and its output check."""

    label: str
    measured: Measured
    check: Check
    steady: float | None  # records/s from 10% to 90% of the last step's input (bench_pipeline)
    load: tuple[float, float]  # load average before and after

    @property
    def rate(self) -> float:
        """Records/s over the whole run: what the goals compare (with enough records, the
        pipeline's filling and draining weigh little, and both sides pay them alike)."""
        return self.measured.rate

    def text(self) -> str:
        steady = f"{self.steady:.0f}" if self.steady else "n/a"
        return (f"{self.label:<22} {self.rate:8.0f} records/s over {self.measured.records} records "
                f"(load {self.load[0]:.1f} -> {self.load[1]:.1f}; the last step alone from 10% to 90% of its "
                f"input: {steady}), {self.measured.cpu_text()}\n    {self.check.text()}")


def _operations(workflow: Workflow) -> tuple[list[str], list[str]]:
    parts = [*workflow.steps, workflow.sink]
    return [p.name for p in parts], [p.function for p in parts]


def whole(label: str, stack, workflow: Workflow, records: int, per_message: int,
          runner_factory: Callable | None = None) -> WholeRun:
    """``records`` orders written as a source writes them (``per_message`` records per Kafka
    message) to the stack's fresh topics, then the whole workflow over them, measured and checked."""
    operations, _functions = _operations(workflow)
    topics = _topics()
    topic = workflow.steps[0].inputs[0]
    stack.create_topics(topics)  # before producing: no topic appears by itself
    _wait_for_leaders(stack.bootstrap, topics)
    messages = _input(topic, records, topics[topic], per_message)
    before = load()
    # The input is written once the workflow runs and its consumer groups have settled, as data
    # reaches a deployed workflow: a group still joining stops all its members at each rebalance.
    run = measure_workflow(stack, workflow, operations, len(messages), records, runner_factory,
                           write=lambda: produce(stack.bootstrap, messages))
    result = WholeRun(label, run.measured, check_output(stack, workflow, _expected(workflow, records)),
                      run.steady, (before, load()))
    print("  " + result.text(), flush=True)
    return result


def _wait_for_leaders(bootstrap: str, topics: dict[str, int], timeout_s: float = 60.0) -> None:
    """Until every partition of ``topics`` has a leader in the broker's metadata, as topics a
    workflow runs on have had long before. On a loaded machine a just-created topic can show an
    error for seconds, and a function that looks it up then takes it for missing: the aggregate
    (functions/aggregate/handler.py) then counts only the partitions it has seen for its
    watermark, and dead-letters on-time records as late (seen once here at load 15)."""
    from confluent_kafka.admin import AdminClient

    admin, deadline = AdminClient({"bootstrap.servers": bootstrap}), time.monotonic() + timeout_s
    while True:
        found = admin.list_topics(timeout=10).topics
        ready = [t for t, n in topics.items() if t in found and found[t].error is None
                 and len(found[t].partitions) == n and all(p.leader >= 0 for p in found[t].partitions.values())]
        if len(ready) == len(topics) or time.monotonic() > deadline:
            return
        time.sleep(0.1)


@functools.lru_cache(maxsize=2)
def _input(topic: str, records: int, partitions: int, per_message: int) -> list:
    """The source's messages of ``records`` orders, made once per run: every round writes the same."""
    return source_messages(topic, orders(records), partitions, max_records=per_message)


_EXPECTED: dict[int, dict] = {}


def _expected(workflow: Workflow, records: int) -> dict:
    """The windows ``records`` orders make, computed once per run (the workflow is the one committed)."""
    if records not in _EXPECTED:
        _EXPECTED[records] = expected_rows(workflow, orders(records))
    return _EXPECTED[records]


@dataclass(frozen=True)
class Spread:
    """A ratio over the rounds of one run: its median (the verdict's), lowest and highest."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def text(self) -> str:
        return (f"median {self.median:5.2f}x over {len(self.values)} rounds (spread {min(self.values):.2f}-"
                f"{max(self.values):.2f}x: " + ", ".join(f"{v:.2f}" for v in self.values) + ")")


# -- the paced run: latency from the source to the warehouse -----------------------------------
@dataclass(frozen=True)
class Latency:
    """Window latencies (s) of a paced run at ``rate`` records/s (``target`` asked), and its check."""

    target: float
    rate: float
    seconds: list[float]
    windows: int  # windows whose latency is measured (every round's but the last)
    check: Check

    def quantile(self, q: int) -> float:
        """The ``q``-th percentile (statistics.quantiles, 'inclusive': within the samples)."""
        return statistics.quantiles(self.seconds, n=100, method="inclusive")[q - 1] if len(self.seconds) > 1 else float("nan")

    def text(self) -> str:
        return (f"latency, source -> warehouse, at {self.rate:.0f} records/s (half of the real path's "
                f"{2 * self.target:.0f}): p50 {1000 * self.quantile(50):.0f} ms, p99 {1000 * self.quantile(99):.0f} ms, "
                f"max {1000 * max(self.seconds, default=float('nan')):.0f} ms over {len(self.seconds)} of "
                f"{self.windows} windows\n    {self.check.text()}")


def _rounds(workflow: Workflow, rounds: int) -> list[list]:
    """The paced input: round r's ROUND_RECORDS orders all at START_MS + r * (lateness + window),
    so that the aggregate's watermark (min over partitions of their newest event time - lateness)
    passes round r-1's windows exactly when round r is on every partition."""
    config = AggregateConfig.from_dict(thaw(aggregate_step(workflow).params))
    gap = config.allowed_lateness_ms + config.window_ms
    return [list(orders(ROUND_RECORDS, start_ms=START_MS + r * gap, span_ms=0, prefix=f"R{r:04d}-"))
            for r in range(rounds)]


class WarehouseWatch:
    """When each window row first appeared in the warehouse (perf_counter), read every POLL_S."""

    def __init__(self, url: str, table: str):
        self.url, self.table, self.first_seen = url, table, {}

    def look(self) -> None:
        import sqlite3

        try:
            rows = read_table(self.url, self.table)
        except sqlite3.OperationalError:  # the loader holds the write lock: next look
            return
        now = time.perf_counter()
        for row in rows:
            self.first_seen.setdefault(row["window_id"], now)

    def until(self, moment: float) -> None:
        while (left := moment - time.perf_counter()) > 0:
            self.look()
            time.sleep(min(POLL_S, max(0.0, moment - time.perf_counter())))


def paced(stack, workflow: Workflow, runner_factory: Callable, target: float) -> Latency:
    """WARM_ROUNDS rounds first, then rounds written at ``target`` records/s for PACED_S, then the
    end markers; the latency of every window of round r is its row's first sight in the
    warehouse minus round r+1's write, for every round the paced ones close. The paced clock
    starts once the first warm round's windows are in the warehouse: every group joined, every
    function (the loader too) has had its first call, as in a workflow that has been running."""
    operations, _functions = _operations(workflow)
    topics, topic = _topics(), workflow.steps[0].inputs[0]
    interval = ROUND_RECORDS / target
    rounds = _rounds(workflow, WARM_ROUNDS + max(3, round(PACED_S / interval)))
    expected = [expected_rows(workflow, items) for items in rounds]
    watch = WarehouseWatch(f"sqlite:///{stack.run_dir / 'warehouse.db'}", workflow.sink.table)
    run, offsets = _run(stack, workflow, operations, runner_factory), bench_offsets(stack.bootstrap)
    producer = producer_for(stack.bootstrap)

    def write(r: int) -> None:
        written.append(time.perf_counter())
        produce(stack.bootstrap, source_messages(topic, rounds[r], topics[topic], origin=f"bench-round-{r}",
                                                 end=False), producer)

    def wait_for(windows: set[str], deadline: float) -> None:
        while not windows <= set(watch.first_seen) and time.perf_counter() < deadline:
            watch.until(time.perf_counter() + 0.2)

    try:
        written: list[float] = []
        for r in range(WARM_ROUNDS):
            write(r)
        wait_for(set(expected[0]), time.perf_counter() + STALL_S)
        started = time.perf_counter()
        for r in range(WARM_ROUNDS, len(rounds)):
            watch.until(started + (r - WARM_ROUNDS) * interval)
            write(r)
        rate = (len(rounds) - WARM_ROUNDS - 1) * ROUND_RECORDS / (written[-1] - written[WARM_ROUNDS])  # as written
        measured = expected[WARM_ROUNDS - 1:-1]  # closed by the paced rounds
        deadline = time.perf_counter() + STALL_S
        wait_for({w for rows in measured for w in rows}, deadline)
        produce(stack.bootstrap, source_messages(topic, [], topics[topic], origin="bench-end"), producer)
        while not _caught_up(offsets, run) and time.perf_counter() < deadline + STALL_S:
            watch.until(time.perf_counter() + 0.2)
        seconds = sorted(watch.first_seen[w] - written[r + WARM_ROUNDS] for r, rows in enumerate(measured)
                         for w in rows if w in watch.first_seen)
    finally:
        offsets.close()
        run.close()
    every = {w: row for rows in expected for w, row in rows.items()}
    return Latency(target, rate, seconds, sum(map(len, measured)), check_output(stack, workflow, every))


# -- the stacks ---------------------------------------------------------------------------------
@contextlib.contextmanager
def real_parts(folder: pathlib.Path, functions: list[str]):
    from devstack.realstack import real_stack

    with real_stack(folder, kafka_data=folder / "kafka", functions=functions) as parts:
        yield parts


@contextlib.contextmanager
def stand_in_stack(folder: pathlib.Path, functions: list[str]):
    """The local stack and the stand-in runner on an Apache Kafka node set up as the real stack's."""
    from devstack.kafka_broker import ApacheKafka
    from devstack.localstack import LocalStack
    from devstack.realstack import LOCAL_KAFKA

    kafka = ApacheKafka(data_dir=folder / "kafka", log_dir=folder / "logs", settings=LOCAL_KAFKA).start()
    try:
        stack = LocalStack(run_dir=folder, kafka_bootstrap=kafka.bootstrap, functions=functions).up()
        try:
            yield stack
        finally:
            stack.down()
    finally:
        kafka.stop()


IO_HOLD_MS = int(os.getenv("FAAS_ETL_BENCH_IO_HOLD_MS", "100"))
IO_BATCHES = int(os.getenv("FAAS_ETL_BENCH_IO_BATCHES", "10"))  # per partition, per phase
IO_PER_BATCH = 50
IO_GOAL = 1.8


def io_bound() -> bool:
    """An I/O-bound step at 1 and 2 function replicas on its committed lanes (issue 15 item 2).

    The committed ``orders-orders-raw`` EventSource (six lanes, one per partition) and ``orders-paid-only``
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
    workflow = load_workflow(REPO / "workflows" / "orders.yaml")
    operations, functions = _operations(workflow)
    print(f"the orders workflow ({' -> '.join(operations)}), each run on a fresh stack, its output checked;\n"
          f"  real: {REAL}\n  stand-in: {STAND_IN}\n  {RECORDS} records batched (up to {wire.MAX_RECORDS} per "
          f"Kafka message, FAAS_ETL_BENCH_REAL_RECORDS) in each of {ROUNDS} rounds (FAAS_ETL_BENCH_REAL_ROUNDS), "
          f"{EVENTS} per event (FAAS_ETL_BENCH_REAL_EVENTS); load: 1-minute load average", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-realargo-") as tmp:
        folder = pathlib.Path(tmp)
        tops, reals, stands = [], [], []
        for i in range(ROUNDS):  # real and stand-in take turns: a load that comes and goes hits both
            print(f" round {i + 1} of {ROUNDS}", flush=True)
            # Which goes first alternates, so that a load rising (or falling) over the run does
            # not always favour the same side.
            for side in (("real", "stand-in") if i % 2 == 0 else ("stand-in", "real")):
                if side == "stand-in":
                    with stand_in_stack(folder / f"stand-in-{i + 1}", functions) as stack:
                        stands.append(whole("stand-in, batched", stack, workflow, RECORDS, wire.MAX_RECORDS))
                    continue
                with real_parts(folder / f"real-{i + 1}", functions) as parts:
                    before = load()
                    top = ceiling(parts.stack.bootstrap, RECORDS, set(worker_pids(parts.stack).values()))
                    print(f"  {'raw loop (ceiling)':<22} {top.rate:8.0f} records/s over {RECORDS} records on the "
                          f"same Apache Kafka (load {before:.1f} -> {load():.1f}), {top.cpu_text()}", flush=True)
                    tops.append(top)
                    reals.append(whole("real, batched", parts.stack, workflow, RECORDS, wire.MAX_RECORDS,
                                       parts.runner_factory))
        with real_parts(folder / "per-event", functions) as parts:
            per_event = whole("real, per event", parts.stack, workflow, EVENTS, 1, parts.runner_factory)
        best = max(run.rate for run in reals)
        with real_parts(folder / "paced", functions) as parts:
            latency = paced(parts.stack, workflow, parts.runner_factory, statistics.median(r.rate for r in reals) / 2)
        print("  " + latency.text(), flush=True)
    # Each round's real run against its own raw loop and the stand-in run of the same round: the
    # ratio of two rates taken a minute apart, so a load that lasts minutes hits both.
    goals = [("(a) real / raw loop", Spread(tuple(r.rate / t.rate for r, t in zip(reals, tops))), CEILING_GOAL),
             ("(b) real / stand-in runner", Spread(tuple(_ratio(r, s) for r, s in zip(reals, stands))), STAND_IN_GOAL),
             ("(c) real batched / real per event", Spread(tuple(_ratio(r, per_event) for r in reals)), PER_EVENT_GOAL)]
    print(f"\nthe real path, whole workflow (best real {best:.0f} records/s):")
    for name, spread, goal in goals:
        print(f"  {name:<34} {spread.text()} (goal >= {goal}x): {_verdict(spread.median, goal)}")
    print("  CPU per record by part, median over the rounds (us): "
          + "; ".join(f"{label} " + _cpu_medians(runs) for label, runs in
                      (("raw loop", [Measured(t.rate, t.records, t.cpu) for t in tops]),
                       ("real", [r.measured for r in reals]), ("stand-in", [s.measured for s in stands]))))
    runs = reals + stands + [per_event]
    checks = [(run.label, run.check) for run in runs] + [("paced", latency.check)]
    print(f"  output checks (0 late, warehouse = expected windows): "
          + (f"passed in all {len(checks)} runs" if all(c.ok for _n, c in checks) else
             "FAILED in " + ", ".join(n for n, c in checks if not c.ok)))
    scaled = io_bound()
    met = all(spread.median >= goal for _name, spread, goal in goals) and all(c.ok for _n, c in checks)
    return 0 if met and scaled and latency.seconds else 1


def _ratio(one: WholeRun, other: WholeRun) -> float:
    return one.rate / other.rate


def _cpu_medians(runs: list[Measured]) -> str:
    """Each part's CPU per record, the median over ``runs``, largest first, and the total's."""
    parts = sorted({p for m in runs for p in m.cpu})
    per = {p: statistics.median(m.cpu.get(p, 0.0) / max(1, m.records) * 1e6 for m in runs) for p in parts}
    total = statistics.median(m.cpu_us_per_record for m in runs)
    return f"{total:.0f} (" + ", ".join(f"{p} {v:.1f}" for p, v in sorted(per.items(), key=lambda kv: -kv[1]) if v) + ")"


if __name__ == "__main__":
    sys.exit(main())
