"""The autoscaler in closed loop on the embedded stack: a 5x surge, with and without it.

The sample ``orders`` workflow, rendered from ``workflows/orders.yaml`` with a scaling section
sized for a one-minute run (tick 5 s, DTT 15 s, DTC 1500 records), runs its ``paid-only``
operation (the real ``filter`` function) and its autoscaler Sensor through the local Argo
Events runner. A load generator produces orders into ``orders-raw`` at a base rate that rises
5x and falls back. Twice, on a fresh stack each time: replicas fixed at one, then the
autoscaler ticking through the calendar EventSource and scaling the filter's worker processes.

What makes replicas matter on a 2-CPU machine, and how the run is set up for it:

* Kafka is remote: the broker is reached through a proxy that delays every byte by
  ``LATENCY_S`` each way, so a step call's time is mostly the produce round trip (as with a
  real cluster), not CPU.
* Delivery is per event, as Argo Events does (the local runner's batching annotation is
  dropped), by ``SENSOR_REPLICAS`` Sensor replicas sharing the consumer group (Argo's Kafka
  EventBus scales Sensors horizontally), so several calls can be in flight.
* A replica serves one call at a time (``WORKER_THREADS=1``, OpenFaaS's ``max_inflight: 1``).

The base rate is a fraction of one replica's capacity, measured in the same run (a burst of
records drained by one replica). Output: ``reports/controller-e2e.json`` and ``.png`` (rate,
backlog and replicas over time, both runs). ``main()`` prints ratios autoscaled / fixed.
"""
from __future__ import annotations

import asyncio
import json
import os
import pathlib
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from confluent_kafka import Producer  # noqa: E402

from devstack.argo.runner import Runner  # noqa: E402
from devstack.broker import tansu_binary  # noqa: E402
from devstack.localstack import LocalStack  # noqa: E402
from devstack.pipeline.kafka_edge import GroupOffsets, TopicReader  # noqa: E402
from devstack.pipeline.selection import Document, choose_documents, workflow_topics  # noqa: E402
from devstack.ports import free_port, wait_for_port  # noqa: E402
from etlkit.workflow import parse_workflow  # noqa: E402
from etlkit.workflow.render import render_workflow  # noqa: E402
from etlkit.workflow.yaml_doc import load_yaml  # noqa: E402

REPORTS = REPO / "reports"
LATENCY_S = 0.005
SENSOR_REPLICAS = 6  # one per partition of orders-raw
TICK_S, DTT_S, DTC = 5, 15, 1500
POLICY = {"scale_in_hold_s": 10, "scale_in_refill_s": 15, "idle_after_s": 600}
GROUP = "faas-etl.orders.orders-raw"
FUNCTION = "filter"


@dataclass(frozen=True)
class Profile:
    """Records/s offered: ``base`` for ``base_s``, ``factor`` x base for ``peak_s``, then base."""

    base: float
    factor: float = 5.0
    base_s: float = 8.0
    peak_s: float = 22.0
    tail_s: float = 22.0

    @property
    def length_s(self) -> float:
        return self.base_s + self.peak_s + self.tail_s

    def rate_at(self, t: float) -> float:
        return self.base * (self.factor if self.base_s <= t < self.base_s + self.peak_s else 1.0)


# -- a remote Kafka: the embedded broker behind a delaying proxy --------------------------------
class DelayProxy:
    """TCP to ``target`` on loopback, every chunk held ``delay_s`` in each direction (in order)."""

    def __init__(self, target: int, port: int, delay_s: float) -> None:
        self.target, self.port, self.delay_s = target, port, delay_s
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        threading.Thread(target=self._run, name="kafka-delay", daemon=True).start()
        assert self._ready.wait(5), "the delay proxy did not start"

    async def _pipe(self, reader, writer) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def receive() -> None:
            while True:
                data = await reader.read(65536)
                await queue.put((time.monotonic() + self.delay_s, data))
                if not data:
                    return

        async def send() -> None:
            while True:
                due, data = await queue.get()
                if due > time.monotonic():
                    await asyncio.sleep(due - time.monotonic())
                if not data:
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        try:
            await asyncio.gather(receive(), send())
        except (OSError, asyncio.CancelledError):
            writer.close()

    async def _accept(self, client_r, client_w) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            client_w.close()
            return
        asyncio.ensure_future(self._pipe(client_r, server_w))
        asyncio.ensure_future(self._pipe(server_r, client_w))

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()

        async def main() -> None:
            server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
            self._ready.set()
            async with server:
                await server.serve_forever()

        self._main = loop.create_task(main())
        try:
            loop.run_until_complete(self._main)
        except asyncio.CancelledError:
            pass
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    def stop(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._main.cancel)


class RemoteKafka:
    """Tansu on a private port, advertising the proxy's port: every client pays the latency."""

    def __init__(self, latency_s: float, log_path: pathlib.Path) -> None:
        self.latency_s, self.log_path = latency_s, log_path
        self.real = free_port()
        self.front = free_port()
        while self.front == self.real:  # the OS may hand the same free port out twice
            self.front = free_port()
        self.bootstrap = f"127.0.0.1:{self.front}"

    def __enter__(self) -> RemoteKafka:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", f"tcp://127.0.0.1:{self.real}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{self.front}",
             "--storage-engine", "memory://tansu/"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.real, 15, alive=lambda: self.proc.poll() is None)
        self.proxy = DelayProxy(self.real, self.front, self.latency_s)
        return self

    def __exit__(self, *exc) -> None:
        self.proxy.stop()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


# -- the workflow, rendered for a one-minute run ------------------------------------------------
def scenario_documents() -> list[Document]:
    """orders.yaml with a scaling section for this run, rendered by the workflow renderer."""
    doc, problems = load_yaml((REPO / "workflows" / "orders.yaml").read_text())
    assert not problems, problems
    doc["scaling"] = {"interval": f"{TICK_S}s",
                      "defaults": {"min_replicas": 1, "max_replicas": 5, "dtt": f"{DTT_S}s",
                                   "dtc": DTC}}
    rendered = render_workflow(parse_workflow(doc), 1, source="bench/bench_controller.py")
    docs = []
    for f in rendered:
        for body in yaml.safe_load_all(f.text):
            if isinstance(body, dict):
                if body.get("kind") == "Sensor":
                    # Per event, as Argo Events delivers (it ignores the local batching annotation).
                    (body["metadata"].get("annotations") or {}).pop("faas-etl.dev/batch-size", None)
                docs.append(Document(str(f.path).removeprefix("argo-events/"), body))
    return docs


def write_documents(docs: list[Document], folder: pathlib.Path) -> pathlib.Path:
    for doc in docs:
        path = folder / doc.file
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as out:
            out.write("---\n" + yaml.safe_dump(dict(doc.body), sort_keys=False))
    return folder


# -- load and measurement ---------------------------------------------------------------------
def _order(i: int, rng: random.Random) -> bytes:
    return json.dumps({"order_id": f"E{i:07d}", "cust_id": f"C{rng.randrange(1, 21):03d}",
                       "amount": round(rng.uniform(5, 300), 2), "quantity": rng.randrange(1, 6),
                       "status": rng.choice(["paid", "shipped", "pending"]),
                       "ordered_at": "2024-06-01T09:30:00Z", "internal_note": ""}).encode()


class LoadGenerator(threading.Thread):
    """Produces orders at ``profile.rate_at(t)``, in 50 ms slices, from start() on."""

    def __init__(self, bootstrap: str, profile: Profile, seed: int = 7,
                 length_s: float | None = None) -> None:
        super().__init__(name="load", daemon=True)
        self.profile, self.rng = profile, random.Random(seed)
        self.length_s = profile.length_s if length_s is None else length_s
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20,
                                  "allow.auto.create.topics": False})
        self.produced, self.stop_flag, self.started_at = 0, threading.Event(), 0.0

    def run(self) -> None:
        self.started_at = time.monotonic()
        owed = 0.0
        while not self.stop_flag.is_set():
            t = time.monotonic() - self.started_at
            if t >= self.length_s:
                break
            owed += self.profile.rate_at(t) * 0.05
            while owed >= 1:
                self.producer.produce("orders-raw", _order(self.produced, self.rng),
                                      key=f"E{self.produced:07d}".encode())
                self.produced += 1
                owed -= 1
            self.producer.poll(0)
            time.sleep(max(0.0, self.started_at + t + 0.05 - time.monotonic()))
        self.producer.flush(10)


@dataclass
class Sample:
    t: float
    offered: float
    backlog: int
    replicas: int
    consumed: float


@dataclass
class Timeline:
    autoscaled: bool
    samples: list[Sample] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    capacity_one: float | None = None
    profile: Profile | None = None

    def after(self, t0: float) -> list[Sample]:
        return [s for s in self.samples if s.t >= t0]


def _replicas(session, url: str) -> int:
    doc = session.get(f"{url}/system/function/{FUNCTION}", timeout=10).json()
    return int(doc.get("availableReplicas", 0))


def _drain(reader: TopicReader, offsets: GroupOffsets, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reader.poll(0.2)
        if offsets.lag(GROUP, "orders-raw", reader).lag == 0 and reader.messages_on("orders-raw"):
            return
    raise TimeoutError("the paid-only group did not catch up")


def run_scenario(autoscale: bool, profile: Profile | None, work: pathlib.Path,
                 say=lambda msg: None, *, burst: int = 600, to_peak_end: bool = False) -> Timeline:
    """One run on a fresh stack; ``profile`` None: measure one replica's capacity first, with
    bursts of ``burst`` records, and derive the profile (base = 0.4 of it), returned in
    ``Timeline.capacity_one``. ``to_peak_end``: the load stops when the surge ends (where a
    fixed replica's backlog is at its largest: after it, base load drains it)."""
    timeline = Timeline(autoscale)
    work.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with RemoteKafka(LATENCY_S, work / "logs" / "broker.log") as kafka:
        saved = os.environ.get("KAFKA_BOOTSTRAP")
        os.environ["KAFKA_BOOTSTRAP"] = kafka.bootstrap
        try:
            stack = LocalStack(run_dir=work, functions=[FUNCTION, "autoscaler", "matcher"],
                               extra_env={"WORKER_THREADS": "1", "STARTUP_DELAY_S": "2",
                                          "SCALING_POLICY": json.dumps(POLICY)}).up()
        finally:
            if saved is None:
                os.environ.pop("KAFKA_BOOTSTRAP")
            else:
                os.environ["KAFKA_BOOTSTRAP"] = saved
        runners: list[Runner] = []
        reader = offsets = None
        try:
            docs = scenario_documents()
            stack.create_topics(workflow_topics(docs, "orders"))
            deployed = {FUNCTION, "autoscaler", "matcher"}
            steps = choose_documents(docs, "orders", deployed, ["paid-only"]).documents
            ticks = choose_documents(docs, "orders", deployed, ["autoscaler"]).documents
            step_dir = write_documents(list(steps), work / "argo-steps")
            tick_dir = write_documents(list(ticks), work / "argo-ticks")
            say(f"  stack up in {time.monotonic() - began:.1f}s")
            for _ in range(SENSOR_REPLICAS):
                runners.append(Runner(step_dir, stack.bootstrap, stack.url, stack.credentials,
                                      session_timeout_ms=6000).start())
            reader = TopicReader(stack.bootstrap, {"orders-raw": 6}, keep=False)
            offsets = GroupOffsets(stack.bootstrap)
            warm = Producer({"bootstrap.servers": stack.bootstrap, "linger.ms": 5})
            rng = random.Random(1)
            burst = 60 if profile is not None else burst
            say(f"  {'autoscaled' if autoscale else 'fixed'}: warming up the Sensor replicas")
            for i in range(burst):
                warm.produce("orders-raw", _order(10_000_000 + i, rng))
            warm.flush(10)
            started = time.monotonic()
            _drain(reader, offsets, timeout=90.0)
            if profile is None:
                # The group was joining part of that time: measure again on a settled group,
                # twice, keeping the faster (timeit's rule: another process's load on this
                # shared 2-core machine only slows a drain down). An underestimate sets a surge
                # one replica absorbs, and the autoscaled run then has nothing to scale for.
                drains = []
                for attempt in range(2):
                    for i in range(burst):  # enough to keep every Sensor replica busy for seconds
                        warm.produce("orders-raw", _order(20_000_000 + attempt * burst + i, rng))
                    warm.flush(10)
                    started = time.monotonic()
                    _drain(reader, offsets)
                    drains.append(time.monotonic() - started)
                timeline.capacity_one = burst / min(drains)
                profile = Profile(base=round(0.4 * timeline.capacity_one))
                say(f"  one replica drains {timeline.capacity_one:.0f} records/s: base "
                    f"{profile.base:.0f}, peak {profile.base * profile.factor:.0f} records/s")
            say(f"  warm at {time.monotonic() - began:.1f}s")
            if autoscale:
                runners.append(Runner(tick_dir, stack.bootstrap, stack.url, stack.credentials,
                                      session_timeout_ms=6000).start())
            load = LoadGenerator(stack.bootstrap, profile, length_s=(
                profile.base_s + profile.peak_s if to_peak_end else None))
            load.start()
            session = stack.session()
            last_done, last_at, seen_tick = None, time.monotonic(), None
            while load.is_alive():
                time.sleep(max(0.0, 1.0 - (time.monotonic() - last_at) % 1.0))
                reader.poll(0.05)
                lag = offsets.lag(GROUP, "orders-raw", reader)
                now = time.monotonic()
                consumed = 0.0 if last_done is None else (lag.committed - last_done) / (now - last_at)
                last_done, last_at = lag.committed, now
                t = now - load.started_at
                timeline.samples.append(Sample(round(t, 2), profile.rate_at(t), lag.lag,
                                               _replicas(session, stack.url), round(consumed, 1)))
                if autoscale:
                    status = session.get(f"{stack.url}/function/autoscaler?workflow=orders",
                                         timeout=10)
                    if status.status_code == 200:
                        tick = status.json()["last_tick"]
                        if tick.get("at") != seen_tick:
                            seen_tick = tick.get("at")
                            timeline.ticks.append({"t": round(t, 2), "status": tick["status"],
                                                   "targets": tick.get("targets", {}),
                                                   "actions": tick.get("actions", []),
                                                   "reasons": [r for r in tick.get("reasons", [])
                                                               if r.startswith(FUNCTION)]})
            load.join()
            timeline.profile = profile
            say(f"  load done at {time.monotonic() - began:.1f}s")
        finally:
            stoppers = [threading.Thread(target=r.stop, kwargs={"timeout": 10}) for r in runners]
            for stopper in stoppers:  # each closes its consumers: in parallel, not one by one
                stopper.start()
            for stopper in stoppers:
                stopper.join()
            if reader is not None:
                reader.close()
            if offsets is not None:
                offsets.close()
            stack.down()
    say(f"  torn down at {time.monotonic() - began:.1f}s")
    return timeline


# -- report -----------------------------------------------------------------------------------
def summary(timeline: Timeline, profile: Profile) -> dict:
    surge = profile.base_s
    samples = timeline.samples
    settled = timeline.after(surge + DTT_S)
    interval = [b.t - a.t for a, b in zip(samples, samples[1:])] or [1.0]
    step = sum(interval) / len(interval)
    return {"max_backlog": max(s.backlog for s in samples),
            "max_backlog_after_dtt": max((s.backlog for s in settled), default=0),
            "seconds_over_dtc": round(sum(step for s in samples if s.backlog > DTC), 1),
            "max_replicas": max(s.replicas for s in samples),
            "final_replicas": samples[-1].replicas,
            "replica_seconds": round(sum(s.replicas * step for s in samples), 1),
            "final_backlog": samples[-1].backlog}


def plot(fixed: Timeline, auto: Timeline, profile: Profile, path: pathlib.Path) -> pathlib.Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (rate_ax, backlog_ax, replica_ax) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    for timeline, colour, label in ((fixed, "tab:red", "fixed, 1 replica"),
                                    (auto, "tab:blue", "autoscaled")):
        t = [s.t for s in timeline.samples]
        rate_ax.plot(t, [s.consumed for s in timeline.samples], color=colour, alpha=0.8,
                     label=f"consumed, {label}")
        backlog_ax.plot(t, [s.backlog for s in timeline.samples], color=colour, label=label)
        replica_ax.step(t, [s.replicas for s in timeline.samples], where="post", color=colour,
                        label=label)
    t = [s.t for s in auto.samples]
    rate_ax.plot(t, [s.offered for s in auto.samples], color="black", linestyle="--",
                 label="offered (load generator)")
    rate_ax.set_ylabel("records/s")
    backlog_ax.axhline(DTC, color="grey", linestyle=":", label=f"DTC {DTC}")
    backlog_ax.axvline(profile.base_s + DTT_S, color="grey", linestyle="--",
                       label=f"surge + DTT ({DTT_S}s)")
    backlog_ax.set_ylabel("backlog (records)")
    replica_ax.set_ylabel("filter replicas")
    replica_ax.set_xlabel("seconds since the load started")
    for tick in auto.ticks:
        if tick["actions"]:
            replica_ax.annotate(", ".join(tick["actions"]).replace(f"scale {FUNCTION} ", ""),
                                (tick["t"], max(auto.samples, key=lambda s: s.t).replicas),
                                fontsize=7, rotation=90, va="bottom", alpha=0.7)
    for ax in (rate_ax, backlog_ax, replica_ax):
        ax.axvspan(profile.base_s, profile.base_s + profile.peak_s, color="orange", alpha=0.08)
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"orders / paid-only under a {profile.factor:g}x surge "
                 f"({profile.base:.0f} -> {profile.base * profile.factor:.0f} records/s), "
                 f"tick {TICK_S}s, DTT {DTT_S}s, DTC {DTC}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def compare(work: pathlib.Path | None = None, say=print, *, burst: int = 600,
            fixed_to_peak_end: bool = False) -> dict:
    """Both runs (fixed first: it also measures one replica's capacity, with bursts of
    ``burst`` records), report and plot. ``fixed_to_peak_end``: the fixed run's load stops when
    the surge ends, past its largest backlog (the test's shorter run; the bench plots it all)."""
    work = work or pathlib.Path(tempfile.mkdtemp(prefix="bench-controller-"))
    fixed = run_scenario(False, None, work / "fixed", say, burst=burst,
                         to_peak_end=fixed_to_peak_end)
    profile = fixed.profile
    auto = run_scenario(True, profile, work / "autoscaled", say)
    report = {"profile": asdict(profile), "capacity_one_replica": fixed.capacity_one,
              "latency_s": LATENCY_S, "tick_s": TICK_S, "dtt_s": DTT_S, "dtc": DTC,
              "fixed": summary(fixed, profile), "autoscaled": summary(auto, profile),
              "ticks": auto.ticks,
              "samples": {"fixed": [asdict(s) for s in fixed.samples],
                          "autoscaled": [asdict(s) for s in auto.samples]}}
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "controller-e2e.json").write_text(json.dumps(report, indent=1))
    report["plot"] = str(plot(fixed, auto, profile, REPORTS / "controller-e2e.png"))
    return report


def main() -> int:
    report = compare()
    f, a = report["fixed"], report["autoscaled"]
    print(f"capacity of one replica: {report['capacity_one_replica']:.0f} records/s; "
          f"load {report['profile']['base']:.0f} -> "
          f"{report['profile']['base'] * report['profile']['factor']:.0f} records/s")
    for name in ("max_backlog", "max_backlog_after_dtt", "seconds_over_dtc", "max_replicas",
                 "final_replicas", "replica_seconds"):
        ratio = a[name] / f[name] if f[name] else float("nan")
        print(f"{name:24s} fixed {f[name]:>9} autoscaled {a[name]:>9}  ratio {ratio:.2f}")
    print(f"plot: {report['plot']}")
    ok = (a["max_backlog_after_dtt"] <= DTC < f["max_backlog"] and a["max_replicas"] > 1
          and a["final_replicas"] < a["max_replicas"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
