"""The workflow definition as typed, frozen values: what the parser returns and everything else reads.

A workflow is a linear pipeline: sources write records to topics, ordered steps each read one
topic and write the next, and the sink loads the last topic into a warehouse table. Every object
here is already validated (see :mod:`.parse`); nothing in this module checks input.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Mapping, Union

from . import names

# The function that serves each part, from docs/contracts.md ("one per step kind").
SOURCE_FUNCTIONS: Mapping[str, str] = MappingProxyType(
    {"http": "ingest", "file": "file-source", "sql": "sql-source", "metrics": "metrics-collector"}
)
SINK_FUNCTION = "warehouse-loader"
AUTOSCALER_FUNCTION = "autoscaler"
# The sink is an operation of the pipeline too (it is scaled and named in errors); its name is fixed.
SINK_NAME = "sink"


def freeze(value: Any) -> Any:
    """A JSON-like value made immutable: mappings become read-only proxies, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of :func:`freeze`: plain dicts and lists, ready for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Tick:
    """When a calendar event fires: a 5-field cron ``schedule`` or a fixed ``interval_ms``, never both."""

    schedule: str | None = None
    interval_ms: int | None = None


@dataclass(frozen=True, kw_only=True)
class _Source:
    name: str
    topic: str
    key: str | None = None  # record field (a column, for SQL) whose value becomes the Kafka key
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))  # frozen; library settings
    kind: ClassVar[str]
    # The source library's names (etlkit.sources ``*Config.from_spec``) for the fields a workflow
    # gives a source directly; the rest of that config comes from ``params`` as written.
    library_names: ClassVar[Mapping[str, str]] = MappingProxyType({})

    @property
    def function(self) -> str:
        """The OpenFaaS function that runs this source."""
        return SOURCE_FUNCTIONS[self.kind]

    def library_params(self) -> dict[str, Any]:
        """The source library's config: this source's own fields under their library names, then ``params``."""
        own = {lib: getattr(self, ours) for ours, lib in self.library_names.items() if getattr(self, ours) is not None}
        return {**own, **thaw(self.params)}

    def spec(self) -> dict[str, Any]:
        """The JSON-ready spec a source function receives: where to write, and the library's config."""
        return {"kind": self.kind, "name": self.name, "topic": self.topic, "params": self.library_params()}


@dataclass(frozen=True, kw_only=True)
class HttpSource(_Source):
    """Records POSTed to the ``ingest`` function, validated against the topic's schema."""

    kind: ClassVar[str] = "http"


@dataclass(frozen=True, kw_only=True)
class FileSource(_Source):
    """A CSV or JSON Lines file streamed by ``file-source`` (started by the runner, not ticked)."""

    path: str
    format: str  # "csv" or "jsonl"
    kind: ClassVar[str] = "file"
    library_names: ClassVar[Mapping[str, str]] = MappingProxyType({"name": "source", "format": "format", "key": "key_field"})

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "path": self.path}


@dataclass(frozen=True, kw_only=True)
class SqlSource(_Source):
    """Rows of ``table`` pulled incrementally by ``cursor`` (a column that only grows) on every tick."""

    table: str
    cursor: str
    url: str  # a reference, see parse.URL_REFERENCE_RULE, never the URL itself
    tick: Tick
    kind: ClassVar[str] = "sql"
    library_names: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"name": "source", "table": "table", "cursor": "cursor_column", "key": "key_column"}
    )

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "url": self.url}


@dataclass(frozen=True, kw_only=True)
class MetricsSource(_Source):
    """Host counters sampled by ``metrics-collector`` on every tick."""

    tick: Tick
    kind: ClassVar[str] = "metrics"


Source = Union[HttpSource, FileSource, SqlSource, MetricsSource]


@dataclass(frozen=True)
class Step:
    """One transformation: reads ``inputs`` (the previous step's output), writes ``output``."""

    name: str
    kind: str
    inputs: tuple[str, ...]
    output: str
    condition: str | None
    params: Mapping[str, Any]  # frozen; step-kind specific, checked by the step library

    @property
    def function(self) -> str:
        """Each step kind has one function of the same name (docs/contracts.md)."""
        return self.kind


@dataclass(frozen=True)
class Sink:
    """Upserts the last topic into ``table`` keyed by the record field ``key``."""

    table: str
    key: str
    url: str  # a reference (``env:NAME`` or ``secret:name``), never the URL itself
    inputs: tuple[str, ...]
    name: str = SINK_NAME

    @property
    def function(self) -> str:
        return SINK_FUNCTION


# How every topic of ours stamps its messages (Kafka topic config ``message.timestamp.type``).
# Kafka deletes a segment once its newest message timestamp is more than retention.ms old
# (apache/kafka core/src/main/scala/kafka/log/UnifiedLog.scala deleteRetentionMsBreachedSegments);
# a message our producers write is stamped with its newest record's event time, which for a
# window result or a backfill is long past, so under CreateTime the broker would delete it at its
# next retention pass, read or not. LogAppendTime makes the broker stamp the time it appends the
# message (storage/.../log/LogValidator.java), so retention counts from when it was written; the
# event time stays per record in the batch ("time", docs/contracts.md). Tansu (the embedded
# stand-in) accepts the setting and ignores it, and has no time retention.
TOPIC_TIMESTAMP_TYPE = "LogAppendTime"
TOPIC_CONFIG: Mapping[str, str] = MappingProxyType({"message.timestamp.type": TOPIC_TIMESTAMP_TYPE})


@dataclass(frozen=True)
class Topic:
    """A Kafka topic the workflow owns; created explicitly (never auto-created)."""

    name: str
    partitions: int
    replication: int
    retention_ms: int


@dataclass(frozen=True)
class Bounds:
    """Autoscaler limits for one operation (a step or the sink) of the pipeline.

    ``dtt_ms`` is the tolerance time and ``dtc`` the tolerance capacity in records: the backlog
    allowed to remain after ``dtt_ms`` (see the scheduler notes).
    """

    operation: str
    function: str
    inputs: tuple[str, ...]
    min_replicas: int
    max_replicas: int
    dtt_ms: int
    dtc: int


@dataclass(frozen=True)
class Scaling:
    """How often the autoscaler runs for this workflow and the bounds of each operation, in order."""

    tick: Tick
    bounds: tuple[Bounds, ...]


@dataclass(frozen=True)
class Retry:
    """Argo trigger retry: ``steps`` attempts in all, the first included (argo-events
    ``Convert2WaitBackoff`` makes it Kubernetes' ``wait.Backoff.Steps``, and turns 0 into its
    default 5, hence at least 1), the first wait ``duration_ms``, each next ``factor`` times longer."""

    steps: int
    duration_ms: int
    factor: float
    jitter: float  # fraction of the wait added at random, 0..1


@dataclass(frozen=True)
class Delivery:
    """How a Sensor calls a step function: HTTP timeout and retries (one call per Kafka message)."""

    timeout_ms: int
    retry: Retry


@dataclass(frozen=True)
class Workflow:
    """A validated workflow definition."""

    name: str
    description: str
    sources: tuple[Source, ...]
    steps: tuple[Step, ...]
    sink: Sink
    topics: tuple[Topic, ...]  # in declaration order
    dead_letter: str
    scaling: Scaling
    delivery: Delivery

    def step_spec(self, step: Step) -> dict[str, Any]:
        """The JSON-ready step spec of the "Step invocation" contract: what the function must do."""
        spec: dict[str, Any] = {"kind": step.kind, "name": step.name}
        if step.condition is not None:
            spec["condition"] = step.condition
        spec.update(params=thaw(step.params), inputs=list(step.inputs), output=step.output, dead_letter=self.dead_letter)
        return spec

    def sink_spec(self) -> dict[str, Any]:
        """The sink's spec, shaped like a step spec so the warehouse loader reads the same envelope."""
        sink = self.sink
        return {
            "kind": "sink",
            "name": sink.name,
            "table": sink.table,
            "key": sink.key,
            "url": sink.url,
            "inputs": list(sink.inputs),
            "dead_letter": self.dead_letter,
        }

    def scaling_spec(self) -> dict[str, Any]:
        """What the autoscaler receives on each tick: its control period and the operations, in order."""
        tick = self.scaling.tick
        period = {"interval_ms": tick.interval_ms} if tick.interval_ms is not None else {"schedule": tick.schedule}
        return {
            **period,
            "operations": [
                {
                    "name": b.operation,
                    "function": b.function,
                    "inputs": [
                        {"topic": t, "consumer_group": names.consumer_group(self.name, t)}
                        for t in b.inputs
                    ],
                    "min_replicas": b.min_replicas,
                    "max_replicas": b.max_replicas,
                    "dtt_ms": b.dtt_ms,
                    "dtc": b.dtc,
                }
                for b in self.scaling.bounds
            ]
        }
