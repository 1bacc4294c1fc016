"""The audit of a workflow's data path (``faas-etl audit``): every topic's records against what
the next step counted, the warehouse rows against the sink's input; every gap named.

Pure: it reads what :mod:`devstack.topic_io` gathered (each topic's messages from the beginning
to the end offset, the committed offsets of each step's EventSource group), the steps' counters
(:mod:`etlkit.runs.counters`, the reader the run service uses) and the warehouse keys, and never
a client.

Counting (docs/contracts.md, "Records on Kafka"):

* a message is decoded by :func:`etlkit.wire.unbatch`: a batch gives its records, a plain
  message one record. Its identity is its ``etl-batch`` id, else the Argo event id of the
  message (what the step saw as the input's identity). An identity seen twice on a topic is a
  *redelivery*: reported, counted once, never a gap by itself.
* *pending*: records at or after the committed offset of the consumer group
  ``faas-etl.<workflow>.<topic>`` (the step's EventSource) are not yet consumed. That is lag,
  reported apart, never a gap.
* a step's ``in`` should be the consumed records of its inputs, less what a Sensor dead-lettered
  for it (a plain message on the dead-letter topic: the whole failed event); as a step may count
  a redelivered batch again, anything up to the consumed redeliveries more is not a gap either.
* a step's ``emitted`` should be the records on its output topic (distinct ones, up to every
  copy), its ``dead_lettered`` the entries of its batches on the dead-letter topic.
* a step that filtered nothing makes, for every consumed input batch with records, an output or
  a dead-letter batch whose id is ``wire.batch_id(f"{input id}/{step}", topic, partition, 0)``;
  one that is on neither topic names the missing output by that id.
* the warehouse holds one row per key of the sink's consumed input (an upsert), less the keys it
  dead-lettered.

A gap's ``unit`` says what ``expected`` and ``seen`` count: records, batches or rows.

On the real Argo Events path the EventSource commits an offset once the EventBus took the event
(``session.MarkMessage`` in argo-events ``pkg/eventsources/sources/kafka/start.go``): events
still waiting in the bus count as consumed here, so a step's ``in`` reads short of its input
until the bus is drained. Audit a drained pipeline; a count gap that shrinks between two audits
was lag. Counters live in each replica: a replica gone takes its counts with it
(:class:`etlkit.runs.counters.ReplicaRecords`; Prometheus keeps them).
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from etlkit import wire
from etlkit.workflow import Workflow, names

from .argo.events import kafka_event_id

# Counters of a step, as etlkit.runs.counters reads them: step -> kind ("in", ...) -> total.
StepRecords = Mapping[str, Mapping[str, float]]
Committed = Mapping[int, "int | None"]
# Steps whose outputs cannot be traced to one input batch: a window's result is closed by
# whichever later record moves the watermark (etlkit/steps/windows.py).
UNTRACEABLE = ("aggregate",)
NEVER_FILTERS = ("map",)


@dataclass(frozen=True)
class RawMessage:
    """One Kafka message as read back, bytes untouched (what a replay re-produces)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int | None


@dataclass(frozen=True)
class Seen:
    """A message decoded: its identity, whether it is a batch, its records and end flag."""

    topic: str
    partition: int
    offset: int
    identity: str
    batch: bool
    entries: tuple[Any, ...]
    end: bool = False


def seen_of(message: RawMessage, event_source_url: str) -> Seen:
    """``message`` through :func:`etlkit.wire.unbatch`; a value that is not what its header says
    is one record (the step dead-letters it), so it is still counted."""
    try:
        identity, entries, end = wire.unbatch(message.value, message.headers, message.key,
                                              message.timestamp_ms)
    except ValueError:  # not JSON, or not the batch its header says: one bad record
        named = dict(message.headers)
        identity = named[wire.BATCH_HEADER].decode() if wire.BATCH_HEADER in named else None
        entries, end = [{"key": None, "value": None}], False
    batch = identity is not None
    if identity is None:
        identity = plain_identity(message, event_source_url)
    return Seen(message.topic, message.partition, message.offset, identity, batch, tuple(entries), end)


def plain_identity(message: RawMessage, event_source_url: str) -> str:
    """The identity a plain message had as a step's input: the Argo event id with its EventSource
    and lane folded into the topic (etlkit.workflow.names.lane_free_event_id) and its position."""
    return kafka_event_id(event_source=message.topic, event_name=message.topic, url=event_source_url,
                          topic=message.topic, partition=message.partition, offset=message.offset)


@dataclass(frozen=True)
class Gap:
    """Records that should be somewhere and are not (``missing``), or more than there should be
    (``doubled``, ``unexpected``): where, whose, how many, and the ids when they are known."""

    kind: str
    topic: str
    partition: int | None  # None: the step's counters do not say which partition
    step: str
    unit: str
    expected: int
    seen: int
    ids: tuple[str, ...] = ()
    why: str = ""


@dataclass(frozen=True)
class Redelivery:
    topic: str
    partition: int
    id: str
    offsets: tuple[int, ...]
    records: int


@dataclass(frozen=True)
class Pending:
    topic: str
    partition: int
    group: str
    messages: int
    records: int


@dataclass(frozen=True)
class TopicCount:
    topic: str
    partition: int
    messages: int
    records: int  # distinct: a redelivered batch counted once


@dataclass(frozen=True)
class AuditReport:
    workflow: str
    topics: tuple[TopicCount, ...]
    gaps: tuple[Gap, ...]
    redeliveries: tuple[Redelivery, ...]
    pending: tuple[Pending, ...]
    unmeasured: tuple[str, ...] = field(default=())  # parts not read, each with the reason

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.unmeasured

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["ok"] = self.ok
        return doc


@dataclass(frozen=True)
class _Consumer:
    name: str
    kind: str
    inputs: tuple[str, ...]
    output: str | None
    condition: str | None = None


def _consumers(workflow: Workflow) -> list[_Consumer]:
    steps = [_Consumer(s.name, s.kind, s.inputs, s.output, s.condition) for s in workflow.steps]
    return steps + [_Consumer(workflow.sink.name, "sink", workflow.sink.inputs, None)]


class _Topic:
    """One topic's messages: first copies, redeliveries, and what its group has not consumed."""

    def __init__(self, seen: Sequence[Seen], committed: Committed | None) -> None:
        self.first: list[Seen] = []
        self.copies: dict[str, list[Seen]] = {}
        for message in sorted(seen, key=lambda m: (m.partition, m.offset)):
            copies = self.copies.setdefault(message.identity, [])
            if not copies:
                self.first.append(message)
            copies.append(message)
        self.committed = committed

    def pending(self, message: Seen) -> bool:
        if self.committed is None:  # nobody consumes this topic (the dead-letter topic)
            return False
        done = self.committed.get(message.partition)
        return done is None or message.offset >= done

    def consumed(self) -> list[Seen]:
        return [m for m in self.first if not self.pending(m)]

    def ids(self) -> set[str]:
        return set(self.copies)

    def records(self) -> int:
        return sum(len(m.entries) for m in self.first)

    def all_records(self) -> int:
        return sum(len(m.entries) for copies in self.copies.values() for m in copies)

    def consumed_redelivered(self) -> int:
        return sum(len(m.entries) for copies in self.copies.values() for m in copies[1:]
                   if not self.pending(m))


def _int(counters: Mapping[str, float] | None, kind: str) -> int:
    return int(round((counters or {}).get(kind, 0.0)))


def _letter(entry: Any) -> Mapping[str, Any]:
    return entry if isinstance(entry, dict) else {}


def _sensor_letter_records(letter: Mapping[str, Any]) -> int:
    """Records in a Sensor's dead letter: its payload is the failed event's whole body."""
    entries = wire.body_entries(letter.get("payload"))
    return 1 if entries is None else len(entries)


def _given_up_mark(letter: Mapping[str, Any]) -> str:
    """What ties a Sensor's dead letter to the input it gave up on: the event's ``etl-batch``
    header when the letter kept the headers, else its topic and body (the letter's payload)."""
    headers = letter.get("headers")
    if isinstance(headers, dict) and headers.get(wire.BATCH_HEADER):
        return str(headers[wire.BATCH_HEADER])
    payload = letter.get("payload")
    if isinstance(payload, dict) and ("records" in payload or wire.COMPRESSED in payload):
        # The batch's entries as a reader of the topic sees them (wire.unbatch restores each
        # entry's etl-event-time header from its time), so they compare with _input_mark's.
        try:
            entries = wire.unbatch(json.dumps(payload).encode(), {wire.BATCH_HEADER: "letter"})[1]
        except ValueError:
            entries = payload.get("records")
    else:
        entries = [payload]
    return json.dumps([letter.get("topic"), entries], sort_keys=True)


def _input_mark(message: Seen) -> str:
    entries = [e.get("value") for e in message.entries if isinstance(e, dict)] if not message.batch \
        else list(message.entries)
    return json.dumps([message.topic, entries], sort_keys=True)


@dataclass
class _Letters:
    """What the dead-letter topic says per step: letters its function wrote (entries of batches),
    records its Sensor gave up on (plain messages holding the failed event), and their keys."""

    written: Counter[str] = field(default_factory=Counter)
    given_up_records: Counter[str] = field(default_factory=Counter)
    given_up: dict[str, set[str]] = field(default_factory=dict)
    keys: dict[str, set[str]] = field(default_factory=dict)


def _read_letters(dlq: _Topic) -> _Letters:
    out = _Letters()
    for message in dlq.first:
        for entry in message.entries:
            letter = _letter(entry.get("value") if isinstance(entry, dict) else None)
            step = str(letter.get("step", "?"))
            keys = out.keys.setdefault(step, set())
            if letter.get("key") is not None:
                keys.add(str(letter["key"]))
            if message.batch:
                out.written[step] += 1
                continue
            out.given_up_records[step] += _sensor_letter_records(letter)
            out.given_up.setdefault(step, set()).add(_given_up_mark(letter))
            keys.update(str(r["key"]) for r in wire.body_entries(letter.get("payload")) or ()
                        if isinstance(r, dict) and r.get("key") is not None)
    return out


def audit(workflow: Workflow, seen: Mapping[str, Sequence[Seen]], partitions: Mapping[str, int],
          committed: Mapping[str, Committed], counters: StepRecords | None,
          warehouse_keys: set[str] | None, unmeasured: Iterable[str] = ()) -> AuditReport:
    """The audit of ``workflow``: ``seen`` every message of each topic, ``partitions`` each
    topic's count, ``committed`` the offsets of each consumed topic's group, ``counters`` the
    steps' counters (None: not measured), ``warehouse_keys`` the sink table's keys (None: not
    read)."""
    consumers = _consumers(workflow)
    consumed_topics = {t for c in consumers for t in c.inputs}
    topics = {t: _Topic(seen.get(t, ()), committed.get(t) if t in consumed_topics else None)
              for t in partitions}
    dlq = topics.get(workflow.dead_letter) or _Topic((), None)
    letters = _read_letters(dlq)
    gaps: list[Gap] = []
    for step in consumers:
        ins = [topics[t] for t in step.inputs if t in topics]
        mine = counters.get(step.name) if counters is not None else None
        traced = _trace(workflow, step, ins, topics, dlq, partitions, mine, letters.given_up.get(step.name, set()))
        gaps += traced
        if counters is not None:
            gaps += _count_gaps(workflow, step, ins, topics, mine, letters, traced)
        if step.kind == "sink" and warehouse_keys is not None:
            gaps += _warehouse_gaps(step, ins, warehouse_keys, letters.keys.get(step.name, set()))
    return AuditReport(workflow.name, _counts(topics), tuple(sorted(gaps, key=_gap_order)),
                       _redeliveries(topics), _pending(workflow.name, topics), tuple(unmeasured))


def _count_gaps(workflow: Workflow, step: _Consumer, ins: Sequence[_Topic], topics: Mapping[str, _Topic],
                mine: Mapping[str, float] | None, letters: _Letters, traced: Sequence[Gap]) -> list[Gap]:
    """The step's counters against its topics: ``in`` against its consumed input, ``emitted``
    against its output topic, ``dead_lettered`` against its letters."""
    gaps = []
    low = sum(len(m.entries) for t in ins for m in t.consumed()) - letters.given_up_records[step.name]
    high = low + sum(t.consumed_redelivered() for t in ins)
    got = _int(mine, "in")
    if not low <= got <= high:
        doubled = got > high
        ids = tuple(sorted(i for t in ins for i, c in t.copies.items() if len(c) > 1)) if doubled \
            else tuple(sorted(i for g in traced for i in g.ids))
        gaps.append(Gap("doubled" if doubled else "missing", ",".join(step.inputs), None, step.name, "records",
                        high if doubled else low, got, ids,
                        f"{step.name} counted {got} records in; its input holds {low} consumed"
                        + (f" (+{high - low} redelivered)" if high > low else "")))
    if step.output is not None and step.output in topics:
        out = topics[step.output]
        emitted = _int(mine, "emitted")
        if not out.records() <= emitted <= out.all_records():
            gaps.append(Gap("doubled" if emitted < out.records() else "missing", step.output, None, step.name,
                            "records", emitted, out.records(), (),
                            f"{step.name} emitted {emitted} records; {step.output} holds {out.records()} distinct"))
    written, dead = letters.written[step.name], _int(mine, "dead_lettered")
    if dead != written and workflow.dead_letter in topics:
        gaps.append(Gap("missing" if dead > written else "doubled", workflow.dead_letter, None, step.name,
                        "records", dead, written, (),
                        f"{step.name} dead-lettered {dead} records; {workflow.dead_letter} holds {written} "
                        f"of its letters"))
    return gaps


def _trace(workflow: Workflow, step: _Consumer, ins: Sequence[_Topic], topics: Mapping[str, _Topic],
           dlq: _Topic, partitions: Mapping[str, int], mine: Mapping[str, float] | None,
           given_up: set[str]) -> list[Gap]:
    """Missing output batches of a step that filtered nothing, named by their deterministic ids."""
    if step.output is None or step.kind in UNTRACEABLE or step.output not in topics:
        return []
    # An input batch wholly filtered makes no output, so absence proves nothing where the step
    # filtered: its counters say so, else its kind (a map without a condition never filters).
    filters = _int(mine, "filtered") != 0 if mine is not None else \
        (step.kind not in NEVER_FILTERS or step.condition is not None)
    if filters:
        return []
    out, out_count = topics[step.output], partitions[step.output]
    if any(not m.batch for m in out.first):
        return []  # outputs written as plain records carry no derived ids to trace
    dlq_count = partitions.get(workflow.dead_letter, 1)
    present = out.ids() | dlq.ids()
    missing: dict[int, list[str]] = {}
    traced: Counter[int] = Counter()
    for topic in ins:
        for message in topic.consumed():
            if not message.entries or (given_up and (message.identity in given_up
                                                     or _input_mark(message) in given_up)):
                continue  # an end marker makes no output; a dead-lettered event made none
            origin = f"{message.identity}/{step.name}"
            target = message.partition % out_count
            made = wire.batch_id(origin, step.output, target, 0)
            letters = wire.batch_id(origin, workflow.dead_letter, message.partition % dlq_count, 0)
            if made in present or letters in present:
                traced[target] += 1
            else:
                missing.setdefault(target, []).append(made)
    return [Gap("missing", step.output, p, step.name, "batches", traced[p] + len(ids), traced[p],
                tuple(sorted(ids)), f"{len(ids)} consumed input batches of {step.name} have neither "
                                    f"an output nor a dead-letter batch")
            for p, ids in sorted(missing.items())]


def _warehouse_gaps(sink: _Consumer, ins: Sequence[_Topic], table: set[str],
                    dead: set[str]) -> list[Gap]:
    keys = {str(e.get("key")) for t in ins for m in t.consumed() for e in m.entries
            if isinstance(e, dict) and e.get("key") is not None}
    every = {str(e.get("key")) for t in ins for m in t.first for e in m.entries
             if isinstance(e, dict) and e.get("key") is not None}
    expected = keys - dead
    where = ",".join(sink.inputs)
    gaps = []
    missing = expected - table
    if missing:
        gaps.append(Gap("missing", where, None, sink.name, "rows", len(expected), len(table & expected),
                        tuple(sorted(missing)), "keys consumed by the sink and not dead-lettered "
                                                "have no warehouse row"))
    stray = table - every
    if stray:
        gaps.append(Gap("unexpected", where, None, sink.name, "rows", len(expected), len(table),
                        tuple(sorted(stray)), "warehouse rows whose key is on no input record"))
    return gaps


def _gap_order(gap: Gap) -> tuple:
    return (gap.topic, -1 if gap.partition is None else gap.partition, gap.step, gap.kind, gap.unit)


def _counts(topics: Mapping[str, _Topic]) -> tuple[TopicCount, ...]:
    out = []
    for name, topic in sorted(topics.items()):
        messages: Counter[int] = Counter(m.partition for c in topic.copies.values() for m in c)
        records: Counter[int] = Counter()
        for m in topic.first:
            records[m.partition] += len(m.entries)
        out += [TopicCount(name, p, messages[p], records[p]) for p in sorted(messages)]
    return tuple(out)


def _redeliveries(topics: Mapping[str, _Topic]) -> tuple[Redelivery, ...]:
    return tuple(Redelivery(name, copies[0].partition, identity, tuple(m.offset for m in copies),
                            len(copies[0].entries))
                 for name, topic in sorted(topics.items())
                 for identity, copies in sorted(topic.copies.items(), key=lambda kv: kv[1][0].offset)
                 if len(copies) > 1)


def _pending(workflow: str, topics: Mapping[str, _Topic]) -> tuple[Pending, ...]:
    out = []
    for name, topic in sorted(topics.items()):
        if topic.committed is None:
            continue
        waiting: dict[int, list[Seen]] = {}
        for copies in topic.copies.values():
            for m in copies:
                if topic.pending(m):
                    waiting.setdefault(m.partition, []).append(m)
        out += [Pending(name, p, names.consumer_group(workflow, name), len(ms), sum(len(m.entries) for m in ms))
                for p, ms in sorted(waiting.items())]
    return tuple(out)


def render_text(report: AuditReport, shown_ids: int = 5) -> str:
    """The report for a terminal: one line per gap, redelivery and pending partition."""
    lines = [f"workflow {report.workflow}: " + ("no gap" if report.ok else
                                                 f"{len(report.gaps)} gaps"
                                                 + (", incomplete" if report.unmeasured else ""))]
    for count in report.topics:
        lines.append(f"  {count.topic}[{count.partition}]: {count.records} records in {count.messages} messages")
    for gap in report.gaps:
        where = gap.topic if gap.partition is None else f"{gap.topic}[{gap.partition}]"
        line = f"GAP {gap.kind} {where} step {gap.step}: expected {gap.expected} {gap.unit}, seen {gap.seen}"
        line += f"; {gap.why}" if gap.why else ""
        if gap.ids:
            more = len(gap.ids) - shown_ids
            line += "; ids " + ", ".join(gap.ids[:shown_ids]) + (f" (+{more} more)" if more > 0 else "")
        lines.append(line)
    for again in report.redeliveries:
        lines.append(f"redelivery {again.topic}[{again.partition}] id {again.id} at offsets "
                     f"{', '.join(map(str, again.offsets))} ({again.records} records, counted once)")
    for wait in report.pending:
        lines.append(f"pending {wait.topic}[{wait.partition}]: {wait.records} records in {wait.messages} "
                     f"messages not yet consumed by group {wait.group}")
    for part in report.unmeasured:
        lines.append(f"not measured: {part}")
    return "\n".join(lines)
