"""Workflow YAML -> validated :class:`~.model.Workflow`, or :class:`~.errors.WorkflowInvalid` with every error.

Validation runs in labelled phases: the document (YAML, duplicate keys), each section's fields
(types, ranges, names), then the whole (unique names, declared topics, the topic chain, scaling
entries that name real operations). Step kinds, conditions and params are the step library's
business and go through the :class:`~.step_hooks.StepValidator` hook.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from ..cron import cron_problem
from . import names
from .errors import FieldError, WorkflowInvalid
from .fields import Fields, describe
from .model import (
    SINK_FUNCTION,
    SINK_NAME,
    Bounds,
    Delivery,
    FileSource,
    HttpSource,
    MetricsSource,
    Retry,
    Scaling,
    Sink,
    Source,
    SqlSource,
    Step,
    Tick,
    Topic,
    Workflow,
    freeze,
)
from .source_hooks import SourceValidator, default_source_validator
from .step_hooks import StepValidator, default_step_validator
from .yaml_doc import ROOT, child_path, load_yaml

# DNS-1123 labels: they become function, EventSource and Sensor names (see names.py for lengths).
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
NAME_RULE = "is not a valid name (lowercase letters, digits and '-', starting and ending with a letter or digit)"
WORKFLOW_NAME_MAX = 24  # "<workflow>-<operation>" Sensor names stay within 63 characters
OPERATION_NAME_MAX = 32
TOPIC_NAME_MAX = 63
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IDENTIFIER_RULE = "is not an SQL identifier (letters, digits and '_', not starting with a digit)"
# A URL is a secret: a workflow names where to find it, a function environment variable or a secret file.
URL_REFERENCE = re.compile(r"^(env:[A-Z_][A-Z0-9_]*|secret:[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$")
URL_REFERENCE_RULE = "is not a URL reference ('env:VARIABLE' or 'secret:name')"
FILE_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

# Defaults, chosen for a small production cluster; the local runner clamps replication to its broker.
DEFAULT_PARTITIONS = 3
DEFAULT_REPLICATION = 3
DEFAULT_RETENTION_MS = 7 * 86_400_000
DEFAULT_SCALING_INTERVAL_MS = 15_000  # Kubernetes HPA's sync period
DEFAULT_MIN_REPLICAS = 1  # OpenFaaS Community Edition cannot scale to zero
DEFAULT_MAX_REPLICAS = 5  # the Community Edition ceiling
DEFAULT_DTT_MS = 60_000
DEFAULT_DTC = 30_000
BUILTIN_BOUNDS = {"min_replicas": DEFAULT_MIN_REPLICAS, "max_replicas": DEFAULT_MAX_REPLICAS, "dtt": DEFAULT_DTT_MS, "dtc": DEFAULT_DTC}
DEFAULT_TIMEOUT_MS = 30_000  # below the gateway's 60 s upstream timeout
MAX_TIMEOUT_MS = 60_000
# delivery fields a workflow may no longer set, each with why and what to do: an error, never
# ignored, so a setting that stopped meaning anything is seen at the first validation.
REMOVED_DELIVERY_FIELDS = {
    "batch_size": "removed: records travel as batches of up to 4000 per Kafka message, written by "
    "the producer, and a Sensor calls the function once per message (docs/contracts.md, "
    "\"Records on Kafka\"); delete this field",
}
DEFAULT_RETRY = Retry(steps=3, duration_ms=1_000, factor=2.0, jitter=0.2)

TOP_FIELDS = ("name", "description", "sources", "steps", "sink", "topics", "dead_letter", "scaling", "delivery")
SOURCE_FIELDS = {
    "http": ("name", "kind", "topic", "key"),
    "file": ("name", "kind", "topic", "key", "path", "format", "params"),
    "sql": ("name", "kind", "topic", "key", "table", "cursor", "url", "interval", "schedule", "params"),
    "metrics": ("name", "kind", "topic", "key", "interval", "schedule", "params"),
}
SOURCE_CLASSES = {"http": HttpSource, "file": FileSource, "sql": SqlSource, "metrics": MetricsSource}
STEP_FIELDS = ("name", "kind", "output", "condition", "params")
BOUNDS_FIELDS = ("min_replicas", "max_replicas", "dtt", "dtc")


def load_workflow(
    path: Path, *, validator: StepValidator | None = None, source_validator: SourceValidator | None = None
) -> Workflow:
    """Read and validate the workflow file at ``path``."""
    return parse_workflow(Path(path).read_text(encoding="utf-8"), validator=validator, source_validator=source_validator)


def parse_workflow(
    document: str | Mapping[str, Any],
    *,
    validator: StepValidator | None = None,
    source_validator: SourceValidator | None = None,
) -> Workflow:
    """Validate a workflow given as YAML text or as already-loaded data.

    Raise :class:`WorkflowInvalid` listing every problem, each as ``<field path>: <rule>``.
    ``validator`` (steps) and ``source_validator`` default to the step and source libraries'
    own parsers when they are present (:mod:`.step_hooks`, :mod:`.source_hooks`).
    """
    errors: list[FieldError] = []
    if isinstance(document, str):
        data, errors = load_yaml(document)
        if data is None and not errors:
            errors.append(FieldError(ROOT, "empty document; expected a workflow mapping"))
        if data is None:
            raise WorkflowInvalid(errors)
    else:
        data = document
    checks = (validator or default_step_validator(), source_validator or default_source_validator())
    workflow = _Parser(errors, *checks).workflow(data)
    if errors or workflow is None:
        raise WorkflowInvalid(errors)
    return workflow


class _Parser:
    def __init__(self, errors: list[FieldError], validator: StepValidator, source_validator: SourceValidator) -> None:
        self.errors = errors
        self.validator = validator
        self.source_validator = source_validator

    def fail(self, path: str, rule: str) -> None:
        self.errors.append(FieldError(path, rule))

    # -- phase 1: each section's fields --------------------------------------------------------

    def workflow(self, data: Any) -> Workflow | None:
        root = Fields(data, "", self.errors, TOP_FIELDS)
        name = root.string("name", pattern=NAME, rule=NAME_RULE, max_len=WORKFLOW_NAME_MAX)
        description = root.string("description", required=False, default="")
        topics = self.topics(root.section("topics", None, required=True))
        sources = [self.source(path, item) for path, item in root.items("sources")]
        steps = [self.step(path, item) for path, item in root.items("steps", required=False)]
        sink = root.section("sink", ("table", "key", "url"), required=True)
        sink_fields = (
            sink.string("table", pattern=IDENTIFIER, rule=IDENTIFIER_RULE),
            sink.string("key", pattern=IDENTIFIER, rule=IDENTIFIER_RULE),
            sink.string("url", required=False, default="env:WAREHOUSE_URL", pattern=URL_REFERENCE, rule=URL_REFERENCE_RULE),
        )
        dead_letter = root.string("dead_letter", pattern=NAME, rule=NAME_RULE, max_len=TOPIC_NAME_MAX)
        delivery = self.delivery(root.section("delivery", ("timeout", "retry"), removed=REMOVED_DELIVERY_FIELDS))
        scaling = root.section("scaling", ("interval", "schedule", "defaults", "steps"))
        tick = self.tick(scaling, default=Tick(interval_ms=DEFAULT_SCALING_INTERVAL_MS))
        defaults = self.bounds_fields(scaling.section("defaults", BOUNDS_FIELDS), BUILTIN_BOUNDS)

        # -- phase 2: the whole (as far as phase 1 got) ------------------------------------------
        operations = self.operation_names(sources, steps)
        if name is None or dead_letter is None or None in sources or None in steps:
            return None
        chain = self.topic_chain(name, sources, steps, dead_letter, topics)
        bounds = self.bounds(scaling.section("steps", sorted(operations)), chain, defaults or BUILTIN_BOUNDS)
        if self.errors or None in sink_fields or delivery is None or tick is None or bounds is None:
            return None
        table, key, url = sink_fields
        return Workflow(
            name=name,
            description=description or "",
            sources=tuple(sources),
            steps=tuple(chain["steps"]),
            sink=Sink(table=table, key=key, url=url, inputs=chain["sink"]),
            topics=tuple(t for t in topics.values() if t is not None),
            dead_letter=dead_letter,
            scaling=Scaling(tick=tick, bounds=bounds),
            delivery=delivery,
        )

    def topics(self, section: Fields) -> dict[str, Topic | None]:
        """Declared topics by name; a topic with bad settings maps to ``None`` (declared, not usable)."""
        out: dict[str, Topic | None] = {}
        for key, settings in section.data.items():
            topic_name = str(key)
            path = section.at(topic_name)
            if not NAME.match(topic_name) or len(topic_name) > TOPIC_NAME_MAX:
                self.fail(path, f"{topic_name!r} {NAME_RULE}, at most {TOPIC_NAME_MAX} characters")
                continue
            fields = Fields(settings, path, self.errors, ("partitions", "replication", "retention"))
            partitions = fields.integer("partitions", default=DEFAULT_PARTITIONS, minimum=1, maximum=10_000)
            replication = fields.integer("replication", default=DEFAULT_REPLICATION, minimum=1, maximum=10)
            retention = fields.duration_ms("retention", default=DEFAULT_RETENTION_MS, minimum_ms=60_000)
            valid = None not in (partitions, replication, retention)
            out[topic_name] = Topic(topic_name, partitions, replication, retention) if valid else None
        return out

    def source(self, path: str, item: Any) -> Source | None:
        kind = item.get("kind") if isinstance(item, dict) else None
        known = SOURCE_FIELDS.get(kind) if isinstance(kind, str) else None
        all_fields = sorted({f for fields in SOURCE_FIELDS.values() for f in fields})
        fields = Fields(item, path, self.errors, known or all_fields)
        if known is None:
            if item is None or isinstance(item, dict):  # an empty entry (`- `) misses its kind too
                rule = "required" if kind is None else f"unknown source kind {describe(kind)}"
                self.fail(fields.at("kind"), f"{rule} (expected one of {', '.join(sorted(SOURCE_FIELDS))})")
            return None
        common = dict(
            name=fields.string("name", pattern=NAME, rule=NAME_RULE, max_len=OPERATION_NAME_MAX),
            topic=fields.string("topic", pattern=NAME, rule=NAME_RULE, max_len=TOPIC_NAME_MAX),
            key=fields.string("key", required=False),
        )
        extra: dict[str, Any] = {}
        if kind == "file":
            extra["path"] = fields.string("path")
            extra["format"] = self.file_format(fields, extra["path"])
        elif kind == "sql":
            extra["table"] = fields.string("table", pattern=IDENTIFIER, rule=IDENTIFIER_RULE)
            extra["cursor"] = fields.string("cursor", pattern=IDENTIFIER, rule=IDENTIFIER_RULE)
            extra["url"] = fields.string("url", pattern=URL_REFERENCE, rule=URL_REFERENCE_RULE)
        if kind in ("sql", "metrics"):
            extra["tick"] = self.tick(fields, default=None)
        cls = SOURCE_CLASSES[kind]
        params = self.params(fields, reserved={lib: ours for ours, lib in cls.library_names.items()})
        if None in (common["name"], common["topic"], params) or None in extra.values():
            return None
        source = cls(**common, **extra, params=freeze(params))
        self.source_library_errors(fields, source)
        return source

    def source_library_errors(self, fields: Fields, source: Source) -> None:
        """The source library's verdict, each error pointed at the field the user wrote."""
        ours = {lib: own for own, lib in source.library_names.items()}
        for problem in self.source_validator.source_errors(source.kind, source.library_params()):
            field, _, rule = problem.partition(": ")
            head, dot, rest = field.partition(".")
            where = fields.at(ours[head] + dot + rest) if head in ours else child_path(fields.at("params"), field)
            fields.fail(where, rule)

    def params(self, fields: Fields, reserved: Mapping[str, str]) -> dict[str, Any] | None:
        """The free-form ``params`` mapping; a key the item sets as its own field is refused there."""
        params = fields.raw("params") or {}
        if not isinstance(params, dict):
            return fields.fail(fields.at("params"), f"expected a mapping, got {describe(params)}")
        taken = [key for key in params if key in reserved]
        for key in taken:
            fields.fail(child_path(fields.at("params"), key), f"give it as the field {reserved[key]!r} instead")
        return None if taken else params

    def file_format(self, fields: Fields, path: str | None) -> str | None:
        if fields.has("format"):
            return fields.string("format", pattern=re.compile(r"^(csv|jsonl)$"), rule="is not a file format (csv or jsonl)")
        suffix = Path(path).suffix.lower() if path else ""
        if path is not None and suffix not in FILE_FORMATS:
            return fields.fail(fields.at("format"), "required when the path does not end in .csv, .jsonl or .ndjson")
        return FILE_FORMATS.get(suffix)

    def tick(self, fields: Fields, *, default: Tick | None) -> Tick | None:
        """``interval`` xor ``schedule`` in ``fields``; ``default`` when neither (required if ``None``)."""
        has_interval, has_schedule = fields.has("interval"), fields.has("schedule")
        if has_interval and has_schedule:
            return fields.fail(fields.at("schedule"), "give either interval or schedule, not both")
        if has_interval:
            interval = fields.duration_ms("interval", minimum_ms=1_000)
            return None if interval is None else Tick(interval_ms=interval)
        if has_schedule:
            schedule = fields.string("schedule")
            if schedule is None:
                return None
            # Argo's own parser (etlkit.cron): the API refuses what the calendar source would.
            problem = cron_problem(schedule)
            if problem:
                return fields.fail(fields.at("schedule"), problem)
            return Tick(schedule=" ".join(schedule.split()))
        if default is None:
            fields.fail(fields.at("interval"), "required: give an interval (like '30s') or a cron schedule")
        return default

    def step(self, path: str, item: Any) -> Step | None:
        fields = Fields(item, path, self.errors, STEP_FIELDS)
        name = fields.string("name", pattern=NAME, rule=NAME_RULE, max_len=OPERATION_NAME_MAX)
        output = fields.string("output", pattern=NAME, rule=NAME_RULE, max_len=TOPIC_NAME_MAX)
        condition = fields.string("condition", required=False)
        if fields.has("condition") and condition is None:
            return None
        params = self.params(fields, reserved={"condition": "condition"})
        if params is None:
            return None
        kind = fields.string("kind")
        if kind is not None:
            kinds = sorted(self.validator.step_kinds())
            if kind not in kinds:
                return fields.fail(fields.at("kind"), f"unknown step kind {kind!r} (expected one of {', '.join(kinds)})")
            for problem in self.validator.step_errors(kind, condition, params):
                where, sep, rule = problem.partition(": ")
                fields.fail(f"{path}.{where}" if sep else path, rule if sep else problem)
        if name is None or output is None or kind is None:
            return None
        # inputs are known once the whole chain is: phase 2 fills them in.
        return Step(name=name, kind=kind, inputs=(), output=output, condition=condition, params=freeze(params))

    def delivery(self, fields: Fields) -> Delivery | None:
        timeout = fields.duration_ms("timeout", default=DEFAULT_TIMEOUT_MS, minimum_ms=1_000)
        if timeout is not None and timeout > MAX_TIMEOUT_MS:
            timeout = fields.fail(fields.at("timeout"), "must be at most 60s (the gateway's upstream timeout)")
        retry_fields = fields.section("retry", ("steps", "duration", "factor", "jitter"))
        d = DEFAULT_RETRY
        retry = (
            retry_fields.integer("steps", default=d.steps, minimum=1, maximum=20),
            retry_fields.duration_ms("duration", default=d.duration_ms),
            retry_fields.number("factor", default=d.factor, minimum=1.0, maximum=10.0),
            retry_fields.number("jitter", default=d.jitter, minimum=0.0, maximum=1.0),
        )
        if timeout is None or None in retry:
            return None
        return Delivery(timeout_ms=timeout, retry=Retry(*retry))

    def bounds_fields(self, fields: Fields, defaults: dict[str, int]) -> dict[str, int] | None:
        values = {
            "min_replicas": fields.integer("min_replicas", default=defaults["min_replicas"], minimum=1, maximum=1_000),
            "max_replicas": fields.integer("max_replicas", default=defaults["max_replicas"], minimum=1, maximum=1_000),
            "dtt": fields.duration_ms("dtt", default=defaults["dtt"], minimum_ms=1_000),
            "dtc": fields.integer("dtc", default=defaults["dtc"], minimum=0),
        }
        if None in values.values():
            return None
        if values["max_replicas"] < values["min_replicas"]:
            fields.fail(
                fields.at("max_replicas"),
                f"must be at least min_replicas ({values['min_replicas']}), got {values['max_replicas']}",
            )
            return None
        return values  # type: ignore[return-value]

    # -- phase 2: the whole ---------------------------------------------------------------------

    def operation_names(self, sources: list[Source | None], steps: list[Step | None]) -> set[str]:
        """Sources, steps and the sink share one namespace: each becomes a Sensor or a header value."""
        seen: dict[str, str] = {SINK_NAME: "the sink", names.AUTOSCALER_OPERATION: "the autoscaler"}
        for group, items in (("sources", sources), ("steps", steps)):
            for i, item in enumerate(items):
                if item is None:
                    continue
                if item.name in seen:
                    self.fail(f"{group}[{i}].name", f"duplicate name {item.name!r} (already used by {seen[item.name]})")
                else:
                    seen[item.name] = f"{group}[{i}]"
        return {step.name for step in steps if step is not None} | {SINK_NAME}

    def topic_chain(
        self, workflow: str, sources: list[Source], steps: list[Step], dead_letter: str, topics: dict[str, Topic | None]
    ) -> dict[str, Any]:
        """Link the pipeline: the first step reads the sources' topics, each next step the previous output.

        Each step writes a topic nobody upstream wrote (no cycles, no two writers of one stream),
        every topic used is declared and every declared topic is used.
        """
        used: dict[str, str] = {}

        def use(topic: str, path: str) -> None:
            if topic not in topics:
                self.fail(path, f"topic {topic!r} is not declared under topics")
            used.setdefault(topic, path)

        source_topics = list(dict.fromkeys(s.topic for s in sources))
        for i, source in enumerate(sources):
            use(source.topic, f"sources[{i}].topic")
            if source.topic == dead_letter:
                self.fail(f"sources[{i}].topic", f"{source.topic!r} is the dead-letter topic")
        use(dead_letter, "dead_letter")
        inputs = tuple(source_topics)
        linked: list[Step] = []
        for i, step in enumerate(steps):
            if step.output in used:
                self.fail(f"steps[{i}].output", f"topic {step.output!r} is already written or read upstream ({used[step.output]})")
            use(step.output, f"steps[{i}].output")
            linked.append(Step(step.name, step.kind, inputs, step.output, step.condition, step.params))
            inputs = (step.output,)
        for topic in topics:
            if topic not in used:
                self.fail(child_path("topics", topic), "declared but not used by any source, step or dead_letter")
        calendar = names.calendar_eventsource(workflow)
        for topic in topics:
            # A topic the workflow reads gets the EventSource <workflow>-<topic>: a DNS label
            # that must not be the workflow's calendar EventSource.
            source = names.kafka_eventsource(workflow, topic)
            if source == calendar:
                self.fail(child_path("topics", topic), f"name is taken: its EventSource would be the workflow's calendar EventSource {calendar!r}")
            elif len(source) > names.KAFKA_EVENTSOURCE_MAX:
                self.fail(child_path("topics", topic), f"its EventSource name {source!r} is longer than {names.KAFKA_EVENTSOURCE_MAX} characters: shorten the workflow or topic name")
        return {"steps": linked, "sink": inputs}

    def bounds(self, overrides: Fields, chain: dict[str, Any], defaults: dict[str, int]) -> tuple[Bounds, ...] | None:
        """Each step's and the sink's bounds: ``scaling.defaults`` overridden by ``scaling.steps.<name>``."""
        per_operation: list[Bounds] = []
        targets = [(s.name, s.function, s.inputs) for s in chain["steps"]]
        targets.append((SINK_NAME, SINK_FUNCTION, chain["sink"]))
        for operation, function, inputs in targets:
            fields = overrides.section(operation, BOUNDS_FIELDS)
            values = self.bounds_fields(fields, defaults)
            if values is None:
                continue
            per_operation.append(
                Bounds(
                    operation=operation,
                    function=function,
                    inputs=inputs,
                    min_replicas=values["min_replicas"],
                    max_replicas=values["max_replicas"],
                    dtt_ms=values["dtt"],
                    dtc=values["dtc"],
                )
            )
        return tuple(per_operation) if len(per_operation) == len(targets) else None
