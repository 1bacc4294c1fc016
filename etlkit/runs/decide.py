"""The Runner's decisions, apart from any I/O: which version runs, whether a start applies
anything, and what a run's status says about each step.

Every function takes plain data (a workflow's history, what is applied, offsets, counters) and
returns plain data; a refusal is a :class:`RunRefused` naming the field and the rule, with the
HTTP status it deserves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..controller.measure import partition_lag
from ..controller.ports import TopicOffsets
from ..workflow import names
from ..workflow.model import Workflow
from ..workflow.store import VersionRecord
from .backend import AppliedRun

RECORD_KINDS = ("in", "out", "filtered", "dead_lettered", "emitted")  # etlkit.metrics.RECORDS


class RunRefused(ValueError):
    """A run request that cannot be done as asked: ``status`` 404 (no such thing) or 409 (not in
    this state); the message is ``<field>: <rule>``."""

    def __init__(self, status: int, field: str, rule: str) -> None:
        self.status, self.field, self.rule = status, field, rule
        super().__init__(f"{field}: {rule}")


def choose_version(name: str, history: Sequence[VersionRecord], requested: int | None) -> VersionRecord:
    """The version to run: ``requested``, else the latest. A deleted workflow runs no version.

    >>> h = [VersionRecord("w", 1, "doc", 0), VersionRecord("w", 2, "doc", 0)]
    >>> choose_version("w", h, None).version, choose_version("w", h, 1).version
    (2, 1)
    """
    if not history:
        raise RunRefused(404, "name", f"no workflow {name!r}")
    latest = history[-1]
    if latest.deleted:
        raise RunRefused(409, "name", f"workflow {name!r} was deleted at version {latest.version}; "
                                      "create it again to run it")
    if requested is None:
        return latest
    chosen = next((r for r in history if r.version == requested), None)
    if chosen is None:
        raise RunRefused(404, "version", f"workflow {name!r} has no version {requested} "
                                         f"(latest is {latest.version})")
    if chosen.deleted:  # a deletion marker in the middle of the history: re-created since
        raise RunRefused(409, "version", f"version {requested} of workflow {name!r} is a deletion, "
                                         "not a definition")
    return chosen


@dataclass(frozen=True)
class StartPlan:
    """Whether a start applies documents, the HTTP status it answers, and why."""

    apply: bool
    status: int  # 202: started or moved (the platform is picking it up); 200: nothing to do
    reason: str


def decide_start(target: int, current: AppliedRun | None) -> StartPlan:
    """Start ``target``, move to it, or do nothing when it already runs.

    >>> decide_start(2, None).reason
    'not running: start version 2'
    """
    if current is None or not current.documents:
        return StartPlan(True, 202, f"not running: start version {target}")
    running = current.version
    if running is None:
        return StartPlan(True, 202, f"applied documents of mixed versions: apply version {target}")
    if running != target:
        return StartPlan(True, 202, f"running version {running}: move to version {target}")
    if current.runtime.state == "failed":
        return StartPlan(True, 202, f"version {target} failed ({current.runtime.reason}): start it again")
    return StartPlan(False, 200, f"already running version {target}")


@dataclass(frozen=True)
class Input:
    """One input of one operation: the topic and the consumer group that reads it for the workflow."""

    operation: str
    topic: str
    group: str


def operations(workflow: Workflow) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(name, function, inputs)`` of every step and the sink, in pipeline order."""
    ops = [(s.name, s.function, s.inputs) for s in workflow.steps]
    return ops + [(workflow.sink.name, workflow.sink.function, workflow.sink.inputs)]


def inputs(workflow: Workflow) -> list[Input]:
    """Every (operation, input topic, consumer group) whose backlog a status reports."""
    return [Input(name, topic, names.consumer_group(workflow.name, topic))
            for name, _, topics in operations(workflow) for topic in topics]


def step_statuses(workflow: Workflow, records: Mapping[str, Mapping[str, float]] | None,
                  ends: Mapping[str, TopicOffsets],
                  committed: Mapping[tuple[str, str], Mapping[int, int | None]]) -> list[dict[str, Any]]:
    """Per operation: its function, Sensor, record counters and the backlog of each input.

    ``records``: ``{step: {kind: total}}`` (None: not measured; a step with no series yet
    counts 0). ``ends``: high/low watermarks per topic; ``committed``: per (group, topic) the
    committed offset of each partition. A topic missing from ``ends`` has backlog None.
    """
    out = []
    for name, function, topics in operations(workflow):
        counters = None
        if records is not None:
            mine = records.get(name, {})
            counters = {kind: int(mine.get(kind, 0)) for kind in RECORD_KINDS}
        backlog = []
        for topic in topics:
            group = names.consumer_group(workflow.name, topic)
            end = ends.get(topic)
            if end is None:
                backlog.append({"topic": topic, "consumer_group": group, "backlog": None, "partitions": None})
                continue
            marks = committed.get((group, topic), {})
            lags = {p: partition_lag(marks.get(p), high, end.low.get(p, 0)) for p, high in sorted(end.high.items())}
            backlog.append({"topic": topic, "consumer_group": group, "backlog": sum(lags.values()),
                            "partitions": {str(p): lag for p, lag in lags.items()}})
        out.append({"name": name, "function": function, "sensor": names.sensor(workflow.name, name),
                    "records": counters, "inputs": backlog})
    return out
