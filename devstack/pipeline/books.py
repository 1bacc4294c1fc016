"""The books of a workflow run: per source and per step, where every record went.

Pure: it reads what the run collected (the records of every topic, the dead letters, the keys in
the warehouse, records still held in open windows) and never a client. Each count is measured,
not assumed, so the balance can fail:

* a source: ``sent = on_topic + rejected + dead_lettered``; ``on_topic`` counts the records of the
  source topic whose ``etl-source`` header names the source.
* a record step (filter, map, enrich): ``in`` is its input topic, ``out`` its output topic,
  ``dead_lettered`` the dead letters naming the step, and ``filtered`` what is left: the records
  with neither an output nor a dead letter. It balances only when every output and dead letter
  traces back (by record key) to a distinct input record, none twice and none both.
* ``aggregate``: ``out`` is the records absorbed into windows (``in - dead_lettered``), ``emitted``
  the window results on its output topic; with a ``count: "*"`` aggregation the emitted results
  plus the windows still open must count exactly the records absorbed.
* the sink: ``out`` is the records written (``in - dead_lettered``); the warehouse table must hold
  exactly the keys of the input records that were not dead-lettered (an upsert: a key written
  twice is still one row).
* a step whose consumer group has not committed everything on its input is not balanced.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .kafka_edge import Message

SOURCE_HEADER = "etl-source"
# Step kinds that pass or dead-letter every record and never drop one silently.
NEVER_FILTERS = ("map", "aggregate", "sink")


@dataclass(frozen=True)
class StepPlan:
    """What the books need to know of one step: its topics and, for aggregate, its count field."""

    name: str
    kind: str
    inputs: tuple[str, ...]
    output: str | None = None  # None for the sink
    count_field: str | None = None  # an aggregate's count "*" result, if it has one


@dataclass(frozen=True)
class SourceFeed:
    """What was handed to one source, counted by whoever handed it."""

    name: str
    kind: str
    topic: str
    sent: int
    rejected: int = 0  # refused at the door (ingest's per-record answer)


@dataclass(frozen=True)
class SourceBooks:
    name: str
    kind: str
    sent: int
    on_topic: int
    rejected: int
    dead_lettered: int

    @property
    def balanced(self) -> bool:
        return self.sent == self.on_topic + self.rejected + self.dead_lettered


@dataclass(frozen=True)
class StepBooks:
    name: str
    kind: str
    in_: int
    out: int
    filtered: int
    dead_lettered: int
    emitted: int
    problems: tuple[str, ...] = ()

    @property
    def balanced(self) -> bool:
        return (not self.problems and self.filtered >= 0
                and self.in_ == self.out + self.filtered + self.dead_lettered)


@dataclass(frozen=True)
class Books:
    sources: tuple[SourceBooks, ...]
    steps: tuple[StepBooks, ...]
    dead_letters: tuple[tuple[str, str, int], ...]  # (step, reason, count), sorted
    warehouse_rows: int
    problems: tuple[str, ...] = field(default=())

    @property
    def balanced(self) -> bool:
        return (not self.problems and all(s.balanced for s in self.sources)
                and all(s.balanced for s in self.steps))


def _letter_fields(letter: Message) -> tuple[str, str, str | None]:
    value = letter.value if isinstance(letter.value, dict) else {}
    key = value.get("key")
    return str(value.get("step", "?")), str(value.get("reason", "?")), None if key is None else str(key)


def _source_books(feed: SourceFeed, messages: Mapping[str, Sequence[Message]],
                  letters: Counter) -> SourceBooks:
    on_topic = sum(1 for m in messages.get(feed.topic, ()) if m.headers.get(SOURCE_HEADER) == feed.name)
    return SourceBooks(feed.name, feed.kind, feed.sent, on_topic, feed.rejected, letters[feed.name])


def _trace(step: str, inputs: Sequence[Message], outputs: Iterable[str | None],
           dead: Sequence[str | None]) -> list[str]:
    """Problems tracing outputs and dead letters back to distinct input records by key."""
    in_keys = Counter(m.key for m in inputs)
    if None in in_keys or any(n > 1 for n in in_keys.values()):
        return []  # keys do not identify records here: only the counts can be checked
    problems = []
    out_keys, dead_keys = Counter(outputs), Counter(dead)
    for what, keys in (("output", out_keys), ("dead letter", dead_keys)):
        twice = sorted(str(k) for k, n in keys.items() if n > 1)
        if twice:
            problems.append(f"{step}: {len(twice)} records have more than one {what} (e.g. {twice[0]})")
        stray = sorted(str(k) for k in keys if k not in in_keys)
        if stray:
            problems.append(f"{step}: {len(stray)} {what}s match no input record (e.g. {stray[0]})")
    both = sorted(str(k) for k in out_keys if k in dead_keys)
    if both:
        problems.append(f"{step}: {len(both)} records both passed and were dead-lettered (e.g. {both[0]})")
    return problems


def _step_books(plan: StepPlan, messages: Mapping[str, Sequence[Message]],
                letters_of: Mapping[str, list[tuple[str, str | None]]], lag: int,
                open_counts: Mapping[str, int], warehouse_keys: set[str] | None) -> StepBooks:
    inputs = [m for topic in plan.inputs for m in messages.get(topic, ())]
    dead_keys = [key for _reason, key in letters_of.get(plan.name, [])]
    dead = len(dead_keys)
    problems = [f"{plan.name}: {lag} input records not yet committed by its consumer group"] if lag else []
    if plan.kind == "sink":
        out, emitted = len(inputs) - dead, 0
        problems += _trace(plan.name, inputs, (), dead_keys)
        if warehouse_keys is not None:
            expected = {m.key for m in inputs} - set(dead_keys)
            if warehouse_keys != expected:
                problems.append(f"{plan.name}: warehouse holds {len(warehouse_keys)} keys, expected "
                                f"{len(expected)} ({len(expected - warehouse_keys)} missing, "
                                f"{len(warehouse_keys - expected)} unexpected)")
    elif plan.kind == "aggregate":
        results = list(messages.get(plan.output or "", ()))
        out, emitted = len(inputs) - dead, len(results)
        problems += _trace(plan.name, inputs, (), dead_keys)
        windows = Counter(m.key for m in results)
        twice = sorted(str(k) for k, n in windows.items() if n > 1)
        if twice:
            problems.append(f"{plan.name}: {len(twice)} windows emitted more than once (e.g. {twice[0]})")
        if plan.count_field is not None:
            counted = sum(_number(m.value, plan.count_field) for m in results)
            held = open_counts.get(plan.name, 0)
            if counted + held != out:
                problems.append(f"{plan.name}: windows count {counted} emitted + {held} still open, "
                                f"but {out} records were absorbed")
    else:
        results = list(messages.get(plan.output or "", ()))
        out = emitted = len(results)
        problems += _trace(plan.name, inputs, (m.key for m in results), dead_keys)
    filtered = len(inputs) - out - dead
    if filtered < 0:
        problems.append(f"{plan.name}: {-filtered} more outputs and dead letters than input records")
    elif filtered and plan.kind in NEVER_FILTERS:
        problems.append(f"{plan.name}: a {plan.kind} step never filters, yet {filtered} input records "
                        "have neither an output nor a dead letter")
    return StepBooks(plan.name, plan.kind, len(inputs), out, filtered, dead, emitted, tuple(problems))


def _number(value: Any, name: str) -> int:
    got = value.get(name) if isinstance(value, dict) else None
    return got if isinstance(got, int) and not isinstance(got, bool) else 0


def keep_books(feeds: Sequence[SourceFeed], steps: Sequence[StepPlan],
               messages: Mapping[str, Sequence[Message]], dead_letter_topic: str, *,
               lags: Mapping[str, int] | None = None, open_counts: Mapping[str, int] | None = None,
               warehouse_keys: set[str] | None = None) -> Books:
    """Balance every source and step of a run from what was read back.

    ``messages``: every record of every topic of the workflow, by topic. ``lags``: per step, the
    records of its input its consumer group has not committed. ``open_counts``: per aggregate
    step, records held in windows not yet emitted. ``warehouse_keys``: the sink table's keys.
    """
    letters = [_letter_fields(m) for m in messages.get(dead_letter_topic, ())]
    per_step: dict[str, list[tuple[str, str | None]]] = {}
    for step, reason, key in letters:
        per_step.setdefault(step, []).append((reason, key))
    counts = Counter(step for step, _reason, _key in letters)
    sources = tuple(_source_books(f, messages, counts) for f in feeds)
    books = tuple(_step_books(s, messages, per_step, (lags or {}).get(s.name, 0), open_counts or {},
                              warehouse_keys) for s in steps)
    problems = []
    known = {f.name for f in feeds} | {s.name for s in steps}
    strangers = sorted(set(counts) - known)
    if strangers:
        problems.append(f"dead letters of unknown steps: {', '.join(strangers)}")
    for topic in sorted({f.topic for f in feeds}):
        names = {f.name for f in feeds if f.topic == topic}
        foreign = sum(1 for m in messages.get(topic, ()) if m.headers.get(SOURCE_HEADER) not in names)
        if foreign:
            problems.append(f"{topic}: {foreign} records from no known source")
    reasons = Counter((step, reason) for step, reason, _key in letters)
    sink_rows = len(warehouse_keys) if warehouse_keys is not None else 0
    return Books(sources, books, tuple(sorted((s, r, n) for (s, r), n in reasons.items())),
                 sink_rows, tuple(problems))
