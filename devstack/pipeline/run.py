"""A workflow on the embedded stack, driven by its committed manifests, and its books.

:class:`WorkflowRun` does the I/O of one run on a started :class:`~devstack.localstack.LocalStack`:

1. ``prepare()``: create the workflow's topics from ``k8s/topics/`` and copy its runnable
   ``argo-events/`` documents to ``<run_dir>/argo-events/<workflow>/`` (:mod:`.selection`).
2. ``start()``: the local Argo Events runner (:class:`devstack.argo.runner.Runner`) on that copy,
   in this process; it does all the wiring: topics to Sensors to functions, calendar ticks to
   polled sources, failures to the dead-letter topic.
3. feed the sources: ``post()`` (HTTP ingest through the gateway), ``stream_file()`` (the
   file-source function, by path; it ends its topic when it is that topic's only source),
   ``expect_table()`` (a SQL source: the runner's ticks pull it).
4. ``wait_drained()``: until every source's records arrived and every consumer group of the
   runner committed up to the high watermark of its topic (from fetch responses), twice in a row.
5. ``end_inputs()``, once every source is drained: the input is over, so each source topic not
   ended yet gets an end of input through the ingest function (``?end=true``); every partition
   ends, the steps pass the end on, and the aggregates emit their last windows. Then wait again.
6. ``books()``: every topic read back, balanced per source and step (:mod:`.books`).

``replay(operation)`` stops the runner, rewinds that operation's consumer group to the start of
its topic and starts the runner again: the same records are delivered a second time.
"""
from __future__ import annotations

import csv
import io
import pathlib
import time
from typing import Any, Callable, Mapping, Sequence

from etlkit.state_db import state_url
from etlkit.state_store import open_state_store
from etlkit.steps.aggregation import AggregateConfig
from etlkit.steps.windows import WindowState
from etlkit.workflow import Workflow, names
from etlkit.workflow.model import FileSource, HttpSource, MetricsSource, SqlSource, thaw

from ..argo.manifests import KafkaSource
from ..argo.fleet import SensorFleet
from ..argo.runner import Runner
from ..localstack import LocalStack
from .books import Books, SourceFeed, StepPlan, keep_books
from .kafka_edge import GroupOffsets, TopicReader, reset_group
from .offsets import GroupLag
from .selection import Selection, choose_documents, read_documents, workflow_topics, write_documents
from .sqldb import count_rows, read_table

REPO = pathlib.Path(__file__).resolve().parents[2]
SETTLE_ROUNDS = 2  # consecutive drained checks, with unchanged watermarks, that end a wait


class RunError(RuntimeError):
    """The run cannot go on; the message names the part (source, function, timeout)."""


def data_rows(text: str, fmt: str) -> int:
    """Records in a CSV (rows after the header, blank rows skipped) or JSON Lines text."""
    if fmt == "jsonl":
        return sum(1 for line in text.splitlines() if line.strip())
    rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    return max(0, len(rows) - 1)


def step_plans(workflow: Workflow) -> list[StepPlan]:
    """The steps and the sink in pipeline order, as the books see them."""
    plans = []
    for step in workflow.steps:
        count_field = None
        if step.kind == "aggregate":
            aggregations = thaw(step.params).get("aggregations") or {}
            count_field = next((n for n, spec in aggregations.items() if spec == {"count": "*"}), None)
        plans.append(StepPlan(step.name, step.kind, step.inputs, step.output, count_field))
    sink = workflow.sink
    plans.append(StepPlan(sink.name, "sink", sink.inputs))
    return plans


def sole_source(workflow: Workflow, source: Any) -> bool:
    """Whether ``source`` is the only source writing its topic: then the end of its input is the
    end of the topic's, and it may say so itself (a file source's ``end_of_input``)."""
    return [s.name for s in workflow.sources if s.topic == source.topic] == [source.name]


def file_source_request(workflow: Workflow, source: FileSource) -> dict[str, Any]:
    """The body that has the file-source function stream ``source``'s file, by path: it ends its
    topic only when no other source writes it (others' records would come after the end, into
    windows already closed: late)."""
    return {"source": {**source.spec(), "dead_letter": workflow.dead_letter,
                       "end_of_input": sole_source(workflow, source)}}


def data_path(workflow: Workflow) -> list[str]:
    """The operations records flow through: ticked sources, steps, sink (not the autoscaler)."""
    ticked = [s.name for s in workflow.sources if isinstance(s, (SqlSource, MetricsSource))]
    return [*ticked, *(s.name for s in workflow.steps), workflow.sink.name]


class WorkflowRun:
    def __init__(self, stack: LocalStack, workflow: Workflow, *, warehouse_url: str,
                 root: pathlib.Path = REPO, say: Callable[[str], None] = lambda msg: None,
                 session_timeout_ms: int = 6000, keep_records: bool = True, sensor_processes: bool = False,
                 read_topics: bool = True, runner_factory: Callable[["WorkflowRun"], Any] | None = None):
        self.stack, self.workflow, self.warehouse_url = stack, workflow, warehouse_url
        # Builds the runner start() starts (e.g. devstack.realargo: the real Argo Events processes),
        # given this run; None: the local runner. It needs start(), stop(), subscriptions, status()
        # and counters, and may have held_events(): events its bus holds that no Sensor finished.
        self.runner_factory = runner_factory
        # False: the topic reader keeps no record, only watermarks (lags work, books do not).
        self.keep_records = keep_records
        self.root, self.say, self.session_timeout_ms = root, say, session_timeout_ms
        # True: each Sensor in a runner process of its own (devstack.argo.fleet), as in a cluster.
        self.sensor_processes = sensor_processes
        # False: no topic reader at all (it fetches every record of every topic, even when it keeps
        # only watermarks): books, lags and wait_drained are then not available.
        self.read_topics = read_topics
        self.manifest_dir = stack.run_dir / "argo-events" / workflow.name
        self.topics: dict[str, int] = {}
        self.selection: Selection | None = None
        self.runner: Runner | SensorFleet | None = None
        self.reader: TopicReader | None = None
        self.offsets = GroupOffsets(stack.bootstrap)
        self.feeds: dict[str, SourceFeed] = {}
        self.ended: set[str] = set()  # source topics whose end of input was written
        self.first_record_at: float | None = None

    # -- setup ------------------------------------------------------------------------------
    def prepare(self, operations: Sequence[str] | None = None) -> "WorkflowRun":
        """Topics created, manifests chosen; ``operations``: only those Sensors (None: all)."""
        name = self.workflow.name
        self.topics = workflow_topics(read_documents(self.root / "k8s" / "topics"), name)
        self.stack.create_topics(self.topics)
        self.say(f"created {len(self.topics)} topics: "
                 + ", ".join(f"{t} ({n})" for t, n in sorted(self.topics.items())))
        with self.stack.session() as http:
            deployed = {f["name"] for f in http.get(f"{self.stack.url}/system/functions", timeout=30).json()}
        argo = self.root / "argo-events"
        self.selection = choose_documents(read_documents(argo), name, deployed, operations)
        write_documents(self.selection.documents, argo, self.manifest_dir)
        for skipped in self.selection.skipped:
            self.say(f"not running Sensor {skipped.sensor}: {skipped.reason}")
        return self

    def start(self) -> "WorkflowRun":
        """Start the runner on the selected manifests (and the topic reader, once)."""
        if self.selection is None:
            raise RunError("start: prepare() first")
        if self.runner_factory is not None:
            self.runner = self.runner_factory(self).start()
        elif self.sensor_processes:
            self.runner = SensorFleet(self.manifest_dir, self.stack.bootstrap, self.stack.url,
                                      run_dir=self.stack.run_dir, secrets_dir=self.stack.secrets_dir,
                                      session_timeout_ms=self.session_timeout_ms).start()
        else:
            self.runner = Runner(self.manifest_dir, self.stack.bootstrap, self.stack.url, self.stack.credentials,
                                 run_dir=self.stack.run_dir, session_timeout_ms=self.session_timeout_ms).start()
        self.say(f"runner started: {len(self.runner.subscriptions)} subscriptions of "
                 f"{len(self.selection.sensors)} Sensors from {self.manifest_dir}")
        if self.reader is None and self.read_topics:
            self.reader = TopicReader(self.stack.bootstrap, self.topics, keep=self.keep_records)
        return self

    def stop_runner(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner = None

    def close(self) -> None:
        """Stop the runner (in-flight calls finish, done offsets are committed) and the readers."""
        try:
            self.stop_runner()
        finally:
            if self.reader is not None:
                self.reader.close()
                self.reader = None
            self.offsets.close()

    # -- sources ----------------------------------------------------------------------------
    def _source(self, name: str, kind: type) -> Any:
        for source in self.workflow.sources:
            if source.name == name:
                if not isinstance(source, kind):
                    raise RunError(f"sources.{name}: is a {source.kind} source, not {kind.kind}")
                return source
        raise RunError(f"sources.{name}: no such source in workflow {self.workflow.name}")

    def _feed(self, source: Any, sent: int, rejected: int = 0) -> None:
        old = self.feeds.get(source.name) or SourceFeed(source.name, source.kind, source.topic, 0)
        self.feeds[source.name] = SourceFeed(source.name, source.kind, source.topic,
                                             old.sent + sent, old.rejected + rejected)

    def _clock(self) -> None:
        """The data path's time starts when the first record is sent (a table waits for a tick)."""
        if self.first_record_at is None:
            self.first_record_at = time.monotonic()

    def post(self, source_name: str, records: Sequence[Mapping[str, Any]], batch: int = 500) -> int:
        """POST records to the ingest function in batches; the number it accepted."""
        source = self._source(source_name, HttpSource)
        query = f"?source={source.name}" + (f"&key={source.key}" if source.key else "")
        accepted = 0
        self._clock()
        with self.stack.session() as http:
            for first in range(0, len(records), batch):
                chunk = list(records[first:first + batch])
                resp = http.post(f"{self.stack.url}/function/ingest/{source.topic}{query}", json=chunk, timeout=60)
                if resp.status_code not in (200, 207, 400) or "accepted" not in resp.text:
                    raise RunError(f"sources.{source.name}: ingest answered {resp.status_code}: {resp.text[:200]}")
                answer = resp.json()
                self._feed(source, len(chunk), answer["rejected"])
                accepted += answer["accepted"]
        return accepted

    def stream_file(self, source_name: str) -> dict:
        """Have the file-source function stream the source's file; its answer. The file ends its
        topic only when no other source writes it: others' records would come after the end,
        into windows already closed (late)."""
        source = self._source(source_name, FileSource)
        path = self.root / source.path
        sent = data_rows(path.read_text(encoding="utf-8"), source.format)
        request = file_source_request(self.workflow, source)
        end = request["source"]["end_of_input"]
        self._clock()
        with self.stack.session() as http:
            resp = http.post(f"{self.stack.url}/function/file-source", json=request, timeout=120)
        if resp.status_code != 200:
            raise RunError(f"sources.{source.name}: file-source answered {resp.status_code}: {resp.text[:200]}")
        self._feed(source, sent)
        if end:
            self.ended.add(source.topic)
        return resp.json()

    def end_input(self, topic: str) -> None:
        """Say that ``topic``'s input is over: every partition ends (the ingest function's
        ``?end=true``, no record), so the windows downstream close, the last ones too. No
        Idempotency-Key: a later end of the same topic (a new run of the input) must not be
        taken for a redelivery of this one."""
        if topic not in {s.topic for s in self.workflow.sources}:
            raise RunError(f"end_input: {topic!r} is not a source topic of workflow {self.workflow.name}")
        with self.stack.session() as http:
            resp = http.post(f"{self.stack.url}/function/ingest/{topic}?end=true", data=b"", timeout=60)
        if resp.status_code != 200:
            raise RunError(f"end_input: ingest answered {resp.status_code} for {topic}: {resp.text[:200]}")
        self.ended.add(topic)
        self.say(f"end of input on {topic}: every partition ended")

    def end_inputs(self) -> list[str]:
        """:meth:`end_input` for every source topic not ended yet (call once every source is
        drained); the topics ended."""
        topics = sorted({s.topic for s in self.workflow.sources} - self.ended)
        for topic in topics:
            self.end_input(topic)
        return topics

    def expect_table(self, source_name: str) -> int:
        """A SQL source is pulled by the runner's ticks: expect every row its table holds now."""
        source = self._source(source_name, SqlSource)
        rows = count_rows(self.warehouse_url, source.table, self.stack.secrets_dir)
        self._feed(source, rows)
        return rows

    # -- waiting ----------------------------------------------------------------------------
    def lags(self) -> dict[str, GroupLag]:
        """Per Kafka subscription (``<sensor>/<dependency>``), the lag of its consumer group
        (high watermarks from fetch responses)."""
        assert self.runner is not None and self.reader is not None
        return {sub.label: self.offsets.lag(sub.group, sub.source.topic, self.reader)
                for sub in self.runner.subscriptions if isinstance(sub.source, KafkaSource) and sub.group}

    def _pending_sources(self) -> list[str]:
        """Sources whose records have not all shown up yet."""
        books = keep_books(list(self.feeds.values()), [], self.reader.messages, self.workflow.dead_letter)
        return [s.name for s in books.sources if s.on_topic + s.rejected + s.dead_lettered < s.sent]

    def wait_drained(self, timeout: float = 120.0) -> float:
        """Wait until every fed record arrived and every group caught up; the seconds waited."""
        if self.runner is None or self.reader is None:
            raise RunError("wait_drained: start() first")
        started, settled, last_high, last_said = time.monotonic(), 0, None, 0.0
        while True:
            self.reader.poll(0.25)
            pending = self._pending_sources()
            lags = self.lags()
            high = {t: self.reader.messages_on(t) for t in self.topics}
            held = self.runner.held_events() if hasattr(self.runner, "held_events") else 0
            drained = not pending and not held and self.reader.at_end and all(l.caught_up for l in lags.values())
            settled = settled + 1 if drained and high == last_high else 0
            last_high = high
            if settled >= SETTLE_ROUNDS:
                return time.monotonic() - started
            now = time.monotonic()
            if now - last_said >= 2.0:
                last_said = now
                backlog = ", ".join(f"{label.split('/')[0].removeprefix(self.workflow.name + '-')} {l.lag}"
                                    for label, l in lags.items() if l.lag)
                self.say(f"  {now - started:5.1f}s  records: "
                         + ", ".join(f"{t} {n}" for t, n in high.items() if n)
                         + (f"  | waiting for sources: {', '.join(pending)}" if pending else "")
                         + (f"  | backlog: {backlog}" if backlog else "")
                         + (f"  | in the event bus: {held}" if held else ""))
            stopped = [s["sensor"] for s in self.runner.status()["subscriptions"] if not s["alive"]]
            if stopped:
                raise RunError(f"runner: the subscriptions of {', '.join(stopped)} stopped (see the log above)")
            if now - started > timeout:
                raise RunError(f"not drained after {timeout:.0f}s: sources pending {pending or 'none'}, "
                               f"lags { {s: l.lag for s, l in lags.items() if l.lag} }"
                               + (f", {held} events in the event bus" if held else ""))

    # -- windows ----------------------------------------------------------------------------
    def _aggregates(self) -> list[tuple[Any, AggregateConfig]]:
        return [(s, AggregateConfig.from_dict(thaw(s.params), f"steps.{s.name}.params"))
                for s in self.workflow.steps if s.kind == "aggregate"]

    def _state_url(self) -> str:
        """Where the functions keep step state: LocalStack's STATE_URL, unless extra_env moved it."""
        return state_url(self.stack.extra_env, folder=self.stack.run_dir)

    def open_counts(self) -> dict[str, int]:
        """Per aggregate step with a count "*" result, the records held in windows still open."""
        plans = {p.name: p for p in step_plans(self.workflow)}
        store = open_state_store(self._state_url())
        out = {}
        try:
            for step, config in self._aggregates():
                field = plans[step.name].count_field
                if field is None:
                    continue
                state = store.snapshot(f"{self.workflow.name}/{step.name}")
                held = WindowState.from_dict(state, config).flush()
                out[step.name] = sum(r.value.get(field, 0) for r in held)
        finally:
            store.close()
        return out

    # -- replay -----------------------------------------------------------------------------
    def replay(self, operation: str) -> int:
        """Deliver again every record of ``operation``'s input: runner stopped, its group rewound
        to offset 0, runner started. The records it will see again."""
        if self.runner is None:
            raise RunError("replay: start() first")
        sensor = names.sensor(self.workflow.name, operation)
        subs = [s for s in self.runner.subscriptions if s.sensor.name == sensor and s.group]
        if not subs:
            raise RunError(f"replay: no running Sensor {sensor}")
        self.stop_runner()
        again = 0
        # The lanes of one input (one subscription each) share its group: rewind and count once.
        for group, topic in dict.fromkeys((sub.group, sub.source.topic) for sub in subs):
            reset_group(self.stack.bootstrap, group, topic, self.topics[topic])
            # In records (a batch message carries many), as the reader kept them; without them,
            # the messages on the topic.
            again += len(self.reader.messages[topic]) if self.reader.keep else self.reader.messages_on(topic)
        self.say(f"replay: group of {sensor} rewound to the start, {again} records to deliver again")
        self.start()
        return again

    # -- books ------------------------------------------------------------------------------
    def warehouse_keys(self) -> set[str]:
        sink = self.workflow.sink
        return {str(row[sink.key]) for row in read_table(self.warehouse_url, sink.table, self.stack.secrets_dir)}

    def books(self) -> Books:
        """Everything read back and balanced (call once drained)."""
        self.reader.poll(0.25)
        lags = self.lags()
        step_lags = {}
        for plan in step_plans(self.workflow):
            sensor = names.sensor(self.workflow.name, plan.name)
            running = [lag.lag for label, lag in lags.items() if label.split("/")[0] == sensor]
            if running:
                step_lags[plan.name] = sum(running)
            else:  # its Sensor did not run: what the manifests' groups committed, if anything
                step_lags[plan.name] = sum(
                    self.offsets.lag(names.consumer_group(self.workflow.name, t), t, self.reader).lag
                    for t in plan.inputs)
        return keep_books(list(self.feeds.values()), step_plans(self.workflow), self.reader.messages,
                          self.workflow.dead_letter, lags=step_lags, open_counts=self.open_counts(),
                          warehouse_keys=self.warehouse_keys())

    @property
    def skipped(self) -> list[dict[str, str]]:
        return [{"sensor": s.sensor, "reason": s.reason} for s in (self.selection.skipped if self.selection else ())]

    def sent(self) -> int:
        return sum(f.sent for f in self.feeds.values())

