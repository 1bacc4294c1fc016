"""``faas-etl try``'s engine: a workflow's steps run on sample records with no broker, through
the very code the functions run, and what each step wrote.

The chain is the deployed one, with the broker left out:

* the sample is read by the file source's reader (:func:`etlkit.sources.read_records`, with the
  workflow's declared file source's settings) and written by :func:`etlkit.sourcefn.deliver`
  as record batches (bad lines become dead letters with their line and reason), the last batch
  of every partition marked as the end of the input, as ``file-source`` does with
  ``end_of_input``;
* each step gets every batch of its input topic as the Argo event a Sensor posts
  (``{"topic", "partition", "key", "headers", "body", "timestamp"}``) in the step invocation of
  docs/contracts.md, and answers through :func:`etlkit.stepfn.handle_step`, the function's own
  core: the same parse, run, dead letters, batch ids and end forwarding. The aggregate keeps its
  windows in a :class:`etlkit.state_store.StateStore` in a temporary folder, so its windows close
  at the end of the input as they do when ``"end": true`` reaches them;
* the batches a step writes are captured in place of Kafka (:class:`Captured`) and are the next
  step's input.

The sink is not run: the last step's records are the rows the warehouse would upsert.
"""
from __future__ import annotations

import json
import pathlib
import tempfile
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from etlkit import wire
from etlkit.outrecord import OutRecord
from etlkit.sourcefn import content_digest, deliver
from etlkit.sources import FileSourceConfig, read_records
from etlkit.state_store import StateStore
from etlkit.stepfn import handle_step
from etlkit.steps import build_lookup, parse_step_config
from etlkit.workflow import Workflow
from etlkit.workflow.model import FileSource, Source

from .argo.gotime import utc_time_string_of_ms

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class TrialError(ValueError):
    """The trial cannot run as asked; the message names the option or the step and why."""


class Captured:
    """The :class:`etlkit.wire.ProduceBatches` of a trial: the messages
    ``kafka_io.produce_batches`` would write, kept in order, on the workflow's partition counts."""

    def __init__(self, partitions: Mapping[str, int]) -> None:
        self.partitions = dict(partitions)
        self.messages: list[OutRecord] = []

    def count(self, topic: str) -> int:
        return self.partitions[topic]

    def __call__(self, records: list[OutRecord], origin: str, *, end: bool = False,
                 end_topics: Sequence[str] = (),
                 end_partitions: Mapping[str, Iterable[int]] | None = None) -> None:
        self.messages += wire.batches(records, origin, self.count, end=end, end_topics=end_topics,
                                      end_partitions=end_partitions)

    def since(self, mark: int, topic: str) -> list[OutRecord]:
        return [m for m in self.messages[mark:] if m.topic == topic]


@dataclass(frozen=True)
class StepTrial:
    """What one step wrote: its records (an aggregate's are its closed windows), its counters
    summed over its calls."""

    name: str
    kind: str
    inputs: tuple[str, ...]
    output: str
    counters: dict[str, int]
    records: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        label = "windows" if self.kind == "aggregate" else "records"
        return {"name": self.name, "kind": self.kind, "inputs": list(self.inputs), "output": self.output,
                "counters": self.counters, label: self.records}


@dataclass(frozen=True)
class Trial:
    workflow: str
    source: dict[str, Any]
    steps: list[StepTrial]
    dead_letters: list[dict[str, Any]]
    shown: tuple[str, ...] = field(default=())  # --step: the steps to print (all when empty)

    def to_dict(self) -> dict[str, Any]:
        steps = [s for s in self.steps if not self.shown or s.name in self.shown]
        return {"workflow": self.workflow, "source": self.source,
                "steps": [s.to_dict() for s in steps], "dead_letters": self.dead_letters}


def chosen_source(workflow: Workflow, name: str | None) -> Source:
    """The source the sample enters by: ``name``, else the workflow's only file source, else its
    first source."""
    if name is not None:
        found = [s for s in workflow.sources if s.name == name]
        if not found:
            known = ", ".join(s.name for s in workflow.sources)
            raise TrialError(f"--source {name}: not a source of workflow {workflow.name} (its sources: {known})")
        return found[0]
    files = [s for s in workflow.sources if isinstance(s, FileSource)]
    return files[0] if len(files) == 1 else workflow.sources[0]


def reader_config(source: Source, input_path: pathlib.Path) -> FileSourceConfig:
    """The file reader's settings: a file source's own (format, key, params), any other source's
    key with the format the sample's name says."""
    if isinstance(source, FileSource):
        return FileSourceConfig.from_spec(source.library_params())
    fmt = FORMATS.get(input_path.suffix.lower())
    if fmt is None:
        raise TrialError(f"--input {input_path}: name it .jsonl, .ndjson or .csv (source "
                         f"{source.name} is not a file source and declares no format)")
    params: dict[str, Any] = {"source": source.name, "format": fmt}
    if source.key:
        params["key_field"] = source.key
    return FileSourceConfig.from_spec(params)


def run_trial(workflow: Workflow, input_path: pathlib.Path, now_ms: int, *, source_name: str | None = None,
              until: str | None = None, lookup_root: pathlib.Path = pathlib.Path(".")) -> Trial:
    """Run ``workflow``'s steps (up to ``until`` when given) on the records of ``input_path``."""
    names = [s.name for s in workflow.steps]
    if until is not None and until not in names:
        raise TrialError(f"--step {until}: not a step of workflow {workflow.name} (its steps: {', '.join(names)})")
    source = chosen_source(workflow, source_name)
    config = reader_config(source, input_path)
    capture = Captured({t.name: t.partitions for t in workflow.topics})
    origin = f"file:{config.source}:{content_digest(str(input_path))}"
    counts = deliver(read_records(config, str(input_path), now_ms), source.topic, workflow.dead_letter,
                     capture, now_ms, origin, end=True)
    steps: list[StepTrial] = []
    with tempfile.TemporaryDirectory(prefix="faas-etl-try-") as folder:
        state = StateStore.sqlite(pathlib.Path(folder) / "step-state.db")  # the aggregate's windows, this trial's only
        lookups: dict[str, Any] = {}
        for step in workflow.steps:
            mark = len(capture.messages)
            events = [_event(m) for m in capture.messages[:mark] if m.topic in step.inputs]
            spec = workflow.step_spec(step)
            totals: dict[str, int] = {}
            for event in events:
                body = json.dumps({"workflow": workflow.name, "version": 1, "step": spec, "event": event})
                answer = handle_step(body.encode(), step.kind, now_ms, capture,
                                     state=state if step.kind == "aggregate" else None,
                                     lookup=_lookup(lookups, lookup_root) if step.kind == "enrich" else None,
                                     partition_count=capture.count)
                doc = json.loads(answer["body"])
                if answer["statusCode"] != 200:
                    raise TrialError(f"step {step.name}: HTTP {answer['statusCode']}: {doc.get('error', doc)}")
                for name, n in doc.items():
                    totals[name] = totals.get(name, 0) + n
            written = [_entry(e) for m in capture.since(mark, step.output) for e in wire.unbatch(m.value, m.headers)[1]]
            steps.append(StepTrial(step.name, step.kind, step.inputs, step.output, totals, written))
            if step.name == until:
                break
    letters = [{k: v for k, v in e["value"].items() if k != "at"}
               for m in capture.messages if m.topic == workflow.dead_letter
               for e in wire.unbatch(m.value, m.headers)[1] if isinstance(e.get("value"), dict)]
    return Trial(workflow.name, {"name": source.name, "topic": source.topic, **counts}, steps, letters,
                 (until,) if until else ())


def _lookup(cache: dict[str, Any], root: pathlib.Path):
    """What the enrich function builds from a spec (functions/enrich/handler.py), its relative
    lookup files under ``root`` (LOOKUP_ROOT: the repository, as on the local stack)."""
    def lookup(spec: Mapping[str, Any]):
        params = spec.get("params") or {}
        key = json.dumps(params, sort_keys=True)
        if key not in cache:
            cache[key] = build_lookup(parse_step_config("enrich", params, "step.params"), base_dir=str(root))
        return cache[key]
    return lookup


def _event(message: OutRecord) -> dict[str, Any]:
    """The Argo Kafka event data of ``message`` as a Sensor posts it (``jsonBody: true``)."""
    return {"topic": message.topic, "partition": message.partition,
            "key": "" if message.key is None else message.key.decode(),
            "headers": {name: text.decode() for name, text in message.headers},
            "body": json.loads(message.value),
            "timestamp": utc_time_string_of_ms(message.timestamp_ms or 0)}


def _entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"key": entry.get("key"), "time": entry.get("time"), "value": entry.get("value")}
