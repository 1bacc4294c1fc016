"""Rules the Argo Events controller enforces (and a few of ours) that its JSON schema cannot say.

Sources: argo-events ``pkg/reconciler/sensor/validate.go``, ``pkg/reconciler/eventbus/validate.go``,
``pkg/reconciler/eventsource/validate.go`` and ``pkg/eventsources/sources/{kafka,calendar}/
validate.go``. Our own additions are marked "(ours)" in the rule text's comment; each exists
because the controller accepts the manifest and then misbehaves at runtime.

Every rule function yields ``(path parts, rule)`` pairs; :func:`argo_rule_findings` turns them into
findings. The rules never assume the schema passed: every access tolerates a wrong type.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterator, Mapping, Sequence

from etlkit.cron import cron_problem

from .documents import Document
from .findings import Finding, PathPart, Problem, at, format_path, located
from .timing import is_go_duration, timezone_problem
from .tolerant import mapping, sequence


HTTP_METHODS = ("GET", "DELETE", "PATCH", "POST", "PUT")
PARAMETER_OPERATIONS = ("", "append", "overwrite", "prepend")
LOGICAL_OPERATORS = ("", "and", "or")
COMPARATORS = ("", ">=", ">", "=", "!=", "<", "<=")
DATA_FILTER_TYPES = ("string", "number", "bool")
RATE_LIMIT_UNITS = ("Second", "Minute", "Hour")
# sarama's strategies; Argo silently falls back to "range" for anything else.
REBALANCE_STRATEGIES = ("range", "roundrobin", "sticky")
EVENT_BUS_TYPES = ("nats", "jetstream", "jetstreamExotic", "kafka")
TRIGGER_TYPES = ("argoWorkflow", "awsLambda", "azureEventHubs", "azureServiceBus", "custom",
                 "email", "grpc", "http", "k8s", "kafka", "log", "nats", "openWhisk", "pulsar",
                 "slack")
# EventSourceSpec keys that are settings, not maps of events.
EVENT_SOURCE_SETTINGS = ("eventBusName", "replicas", "service", "template")
# Sources whose Deployment must use the Recreate strategy (argo-events
# RecreateStrategyEventSources); the controller refuses to mix them with rolling-update ones.
RECREATE_SOURCES = frozenset({
    "amqp", "azureEventsHub", "azureServiceBus", "calendar", "emitter", "file", "generic", "hdfs",
    "kafka", "minio", "mqtt", "nats", "nsq", "pubSub", "pulsar", "redis", "redisStream",
    "resource", "sftp"})
_CONDITION_TOKENS = re.compile(r"&&|\|\||[()!]|\s+")


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


# --- EventBus -------------------------------------------------------------------------------

def eventbus_problems(doc: Document) -> Iterator[Problem]:
    """One bus type; jetstream needs a version and 1 or >= 3 replicas; kafka/exotic need a url."""
    spec = doc.spec
    chosen = [name for name in EVENT_BUS_TYPES if name in spec]
    if len(chosen) != 1:
        yield ["spec"], f"set exactly one of {', '.join(EVENT_BUS_TYPES)} (found {len(chosen)})"
    jetstream = mapping(spec.get("jetstream"))
    if "jetstream" in spec:
        if _blank(jetstream.get("version")):
            yield ["spec", "jetstream", "version"], "a JetStream version is required"
        replicas = jetstream.get("replicas")
        if isinstance(replicas, int) and (replicas == 2 or replicas <= 0):
            yield ["spec", "jetstream", "replicas"], "must be 1 or at least 3 (a quorum of 2 fails)"
    for bus in ("kafka", "jetstreamExotic"):
        if bus in spec and _blank(mapping(spec[bus]).get("url")):
            yield ["spec", bus, "url"], "must not be empty"
    nats = mapping(spec.get("nats"))
    if "nats" in spec and ("native" in nats) == ("exotic" in nats):
        yield ["spec", "nats"], "set exactly one of native, exotic"


# --- EventSource ----------------------------------------------------------------------------

def event_sources(doc: Document) -> Iterator[tuple[str, str, Any]]:
    """``(source type, event name, config)`` for every event an EventSource defines."""
    for source_type, events in doc.spec.items():
        if source_type in EVENT_SOURCE_SETTINGS:
            continue
        for event_name, config in mapping(events).items():
            yield source_type, str(event_name), config


def eventsource_problems(doc: Document) -> Iterator[Problem]:
    """Unique event names, no mixing of update strategies, then each source type's own rules."""
    events = list(event_sources(doc))
    if not events:
        yield ["spec"], "defines no event"
    first_type: dict[str, str] = {}
    for source_type, event_name, _ in events:
        if event_name in first_type:
            yield (["spec", source_type, event_name],
                   f"event name {event_name!r} is already used under spec.{first_type[event_name]}")
        first_type.setdefault(event_name, source_type)
    types = {source_type for source_type, _, _ in events}
    rolling = sorted(types - RECREATE_SOURCES)
    if rolling and types & RECREATE_SOURCES:
        yield (["spec"], f"mixes rolling-update sources ({', '.join(rolling)}) with "
                         f"recreate sources ({', '.join(sorted(types & RECREATE_SOURCES))})")
    for source_type, event_name, config in events:
        check = SOURCE_RULES.get(source_type)
        if check:
            base: list[PathPart] = ["spec", source_type, event_name]
            for parts, rule in check(mapping(config)):
                yield [*base, *parts], rule


def kafka_source_problems(config: Mapping[str, Any]) -> Iterator[Problem]:
    """url, topic, and a consumer group (or a fixed partition); JSON bodies (ours)."""
    for key in ("url", "topic"):
        if _blank(config.get(key)):
            yield [key], "must not be empty"
    group = config.get("consumerGroup")
    partition = config.get("partition")
    if group is None and partition in (None, ""):
        yield (["consumerGroup"],
               "set consumerGroup (or partition): the source reads nothing otherwise")
    if isinstance(group, dict):
        if _blank(group.get("groupName")):
            yield ["consumerGroup", "groupName"], "must not be empty"
        strategy = group.get("rebalanceStrategy")
        if strategy is not None and strategy not in REBALANCE_STRATEGIES:
            yield (["consumerGroup", "rebalanceStrategy"],
                   f"must be one of {', '.join(REBALANCE_STRATEGIES)}")
        if partition not in (None, ""):
            yield ["partition"], "is ignored when consumerGroup is set: remove one"
    elif partition not in (None, "") and not str(partition).isdigit():
        yield ["partition"], "must be a partition number"
    # (ours) Records are JSON objects (docs/contracts.md); without jsonBody the Sensor sees the
    # value as base64 text and every `dataKey: body.x` resolves to nothing.
    if config.get("jsonBody") is not True:
        yield ["jsonBody"], "must be true: records are JSON and Sensors read body.<field>"


def calendar_source_problems(config: Mapping[str, Any]) -> Iterator[Problem]:
    """schedule (5-field cron) or interval (Go duration); a loadable time zone."""
    schedule, interval = config.get("schedule"), config.get("interval")
    if _blank(schedule) and _blank(interval):
        yield ["schedule"], "set schedule (cron) or interval"
    if not _blank(schedule):
        problem = cron_problem(schedule)
        if problem:
            yield ["schedule"], problem
    if not _blank(interval) and not is_go_duration(interval):
        yield ["interval"], "must be a Go duration such as 30s or 5m"
    timezone = config.get("timezone")
    if not _blank(timezone):
        problem = timezone_problem(timezone)
        if problem:
            yield ["timezone"], problem


SOURCE_RULES = {"kafka": kafka_source_problems, "calendar": calendar_source_problems}


# --- Sensor ---------------------------------------------------------------------------------

def sensor_problems(doc: Document) -> Iterator[Problem]:
    """Dependencies, then triggers; each trigger may only use dependencies the Sensor declares."""
    dependencies = sequence(doc.spec.get("dependencies"))
    triggers = sequence(doc.spec.get("triggers"))
    if "dependencies" in doc.spec and not dependencies:
        yield ["spec", "dependencies"], "must list at least one dependency"
    if "triggers" in doc.spec and not triggers:
        yield ["spec", "triggers"], "must list at least one trigger"
    yield from _dependency_problems(dependencies)
    names = frozenset(name for d in dependencies
                      if isinstance(name := mapping(d).get("name"), str))
    seen: set[str] = set()
    for position, trigger in enumerate(triggers):
        parts: list[PathPart] = ["spec", "triggers", position]
        trigger = mapping(trigger)
        yield from _trigger_problems(trigger, parts, names)
        name = mapping(trigger.get("template")).get("name")
        if isinstance(name, str):
            if name in seen:
                yield [*parts, "template", "name"], f"duplicate trigger name {name!r}"
            seen.add(name)


def _dependency_problems(dependencies: Sequence[Any]) -> Iterator[Problem]:
    names: Counter[str] = Counter()
    events: Counter[tuple[str, str]] = Counter()
    for position, dependency in enumerate(dependencies):
        parts: list[PathPart] = ["spec", "dependencies", position]
        dependency = mapping(dependency)
        for key in ("name", "eventSourceName", "eventName"):
            if _blank(dependency.get(key)):
                yield [*parts, key], "must not be empty"
        name = dependency.get("name")
        if isinstance(name, str):
            names[name] += 1
            if names[name] == 2:
                yield [*parts, "name"], f"duplicate dependency name {name!r}"
        event = (dependency.get("eventSourceName"), dependency.get("eventName"))
        if all(isinstance(part, str) for part in event):
            events[event] += 1
            if events[event] == 2:
                yield ([*parts, "eventName"],
                       f"event {event[1]!r} of EventSource {event[0]!r} is already a "
                       "dependency: one dependency per (eventSourceName, eventName)")
        operator = dependency.get("filtersLogicalOperator", "")
        if operator not in LOGICAL_OPERATORS:
            yield [*parts, "filtersLogicalOperator"], "must be and or or"
        yield from _filter_problems(mapping(dependency.get("filters")), [*parts, "filters"])


def _filter_problems(filters: Mapping[str, Any], parts: list[PathPart]) -> Iterator[Problem]:
    for key in ("dataLogicalOperator", "exprLogicalOperator"):
        if filters.get(key, "") not in LOGICAL_OPERATORS:
            yield [*parts, key], "must be and or or"
    for position, data in enumerate(sequence(filters.get("data"))):
        data = mapping(data)
        here = [*parts, "data", position]
        for key in ("path", "type"):
            if _blank(data.get(key)):
                yield [*here, key], "must not be empty"
        if not _blank(data.get("type")) and data["type"] not in DATA_FILTER_TYPES:
            yield [*here, "type"], f"must be one of {', '.join(DATA_FILTER_TYPES)}"
        if data.get("comparator", "") not in COMPARATORS:
            yield [*here, "comparator"], f"must be one of {' '.join(COMPARATORS[1:])}"
        values = sequence(data.get("value"))
        if not values or any(_blank(v) for v in values):
            yield [*here, "value"], "must list at least one non-empty value"
    for position, expr in enumerate(sequence(filters.get("exprs"))):
        expr = mapping(expr)
        here = [*parts, "exprs", position]
        if _blank(expr.get("expr")):
            yield [*here, "expr"], "must not be empty"
        fields = sequence(expr.get("fields"))
        if not fields:
            yield [*here, "fields"], "must list at least one field"
        for index, item in enumerate(fields):
            for key in ("path", "name"):
                if _blank(mapping(item).get(key)):
                    yield [*here, "fields", index, key], "must not be empty"


def _trigger_problems(trigger: Mapping[str, Any], parts: list[PathPart],
                      dependencies: frozenset[str]) -> Iterator[Problem]:
    template = mapping(trigger.get("template"))
    here = [*parts, "template"]
    if "template" not in trigger:
        yield here, "is required"
    elif _blank(template.get("name")):
        yield [*here, "name"], "must not be empty"
    if "policy" in template:
        yield ([*here, "policy"], "policy sits on the trigger, not the template: move it to "
                                  f"{format_path(parts)}.policy")
    kinds = [kind for kind in TRIGGER_TYPES if kind in template]
    if "template" in trigger and len(kinds) != 1:
        yield here, (f"set exactly one trigger type ({', '.join(kinds)} found)" if kinds
                     else "sets no trigger type (http, kafka, log, ...)")
    yield from _condition_problems(template, here, dependencies)
    if "http" in template:
        yield from _http_problems(mapping(template["http"]), [*here, "http"], dependencies)
        # (ours) Without a status policy the Sensor counts a 5xx answer as success, so a failed
        # step is neither retried nor dead-lettered.
        allow = mapping(mapping(trigger.get("policy")).get("status")).get("allow")
        if not sequence(allow):
            yield ([*parts, "policy", "status", "allow"],
                   "an HTTP trigger must list the status codes that count as success "
                   "(without it a 5xx counts as success)")
    if "kafka" in template:
        yield from _kafka_trigger_problems(mapping(template["kafka"]), [*here, "kafka"],
                                           dependencies)
    yield from _parameter_list(trigger.get("parameters"), [*parts, "parameters"], dependencies)
    yield from _policy_problems(mapping(trigger.get("policy")), [*parts, "policy"])
    yield from _retry_problems(mapping(trigger.get("retryStrategy")), [*parts, "retryStrategy"])
    rate = mapping(trigger.get("rateLimit"))
    if rate.get("unit") is not None and rate["unit"] not in RATE_LIMIT_UNITS:
        yield [*parts, "rateLimit", "unit"], f"must be one of {', '.join(RATE_LIMIT_UNITS)}"
    if "dlqTrigger" in trigger:
        yield from _dlq_problems(trigger, parts, dependencies)


def _dlq_problems(trigger: Mapping[str, Any], parts: list[PathPart],
                  dependencies: frozenset[str]) -> Iterator[Problem]:
    if trigger.get("atLeastOnce") is not True:
        yield [*parts, "atLeastOnce"], "must be true to use dlqTrigger"
    dlq = mapping(trigger.get("dlqTrigger"))
    if dlq.get("atLeastOnce") is not True:
        yield [*parts, "dlqTrigger", "atLeastOnce"], "must be true within the dlqTrigger"
    yield from _trigger_problems(dlq, [*parts, "dlqTrigger"], dependencies)


def _condition_problems(template: Mapping[str, Any], parts: list[PathPart],
                        dependencies: frozenset[str]) -> Iterator[Problem]:
    conditions = template.get("conditions")
    if isinstance(conditions, str):
        unknown = sorted({token for token in _CONDITION_TOKENS.split(conditions) if token}
                         - dependencies)
        if unknown:
            yield ([*parts, "conditions"],
                   f"names no dependency of this Sensor: {', '.join(unknown)}")
    for position, reset in enumerate(sequence(template.get("conditionsReset"))):
        by_time = mapping(reset).get("byTime")
        here = [*parts, "conditionsReset", position, "byTime"]
        if not isinstance(by_time, dict):
            yield here, "is required"
            continue
        problem = cron_problem(str(by_time.get("cron", "")))
        if problem:
            yield [*here, "cron"], problem
        if not _blank(by_time.get("timezone")):
            problem = timezone_problem(by_time["timezone"])
            if problem:
                yield [*here, "timezone"], problem


def _http_problems(http: Mapping[str, Any], parts: list[PathPart],
                   dependencies: frozenset[str]) -> Iterator[Problem]:
    if _blank(http.get("url")):
        yield [*parts, "url"], "must not be empty"
    method = http.get("method")
    if method not in (None, "") and method not in HTTP_METHODS:
        yield [*parts, "method"], f"must be one of {', '.join(HTTP_METHODS)}"
    yield from _parameter_list(http.get("parameters"), [*parts, "parameters"], dependencies)
    # An HTTP payload entry may leave dest empty: the whole value becomes the body.
    yield from _parameter_list(http.get("payload"), [*parts, "payload"], dependencies,
                               dest_required=False)


def _kafka_trigger_problems(kafka: Mapping[str, Any], parts: list[PathPart],
                            dependencies: frozenset[str]) -> Iterator[Problem]:
    for key in ("url", "topic"):
        if _blank(kafka.get(key)):
            yield [*parts, key], "must not be empty"
    if "payload" in kafka and not sequence(kafka["payload"]):
        yield [*parts, "payload"], "must not be empty: the trigger would send nothing"
    yield from _parameter_list(kafka.get("payload"), [*parts, "payload"], dependencies)
    yield from _parameter_list(kafka.get("parameters"), [*parts, "parameters"], dependencies)


def _parameter_list(parameters: Any, parts: list[PathPart], dependencies: frozenset[str],
                    dest_required: bool = True) -> Iterator[Problem]:
    for position, parameter in enumerate(sequence(parameters)):
        parameter = mapping(parameter)
        here = [*parts, position]
        source = parameter.get("src")
        if not isinstance(source, dict):
            yield [*here, "src"], "is required"
        elif _blank(source.get("dependencyName")):
            yield [*here, "src", "dependencyName"], "must not be empty"
        elif source["dependencyName"] not in dependencies:
            yield ([*here, "src", "dependencyName"],
                   f"names no dependency of this Sensor ({', '.join(sorted(dependencies))})")
        if dest_required and _blank(parameter.get("dest")):
            yield [*here, "dest"], "must not be empty (only an HTTP payload may leave dest empty)"
        if parameter.get("operation", "") not in PARAMETER_OPERATIONS:
            yield [*here, "operation"], "must be append, overwrite or prepend"


def _policy_problems(policy: Mapping[str, Any], parts: list[PathPart]) -> Iterator[Problem]:
    if "status" in policy:
        allow = mapping(policy["status"]).get("allow")
        for position, code in enumerate(sequence(allow)):
            if not isinstance(code, int) or not 100 <= code <= 599:
                yield [*parts, "status", "allow", position], "must be an HTTP status code (100-599)"


def _retry_problems(retry: Mapping[str, Any], parts: list[PathPart]) -> Iterator[Problem]:
    duration = retry.get("duration")
    if isinstance(duration, str) and not is_go_duration(duration):
        yield [*parts, "duration"], "must be a Go duration such as 1s or an integer (nanoseconds)"
    steps = retry.get("steps")
    if isinstance(steps, int) and steps < 0:
        yield [*parts, "steps"], "must not be negative"


# --- entry point ----------------------------------------------------------------------------

KIND_RULES = {"EventBus": eventbus_problems, "EventSource": eventsource_problems,
              "Sensor": sensor_problems}


def argo_rule_findings(doc: Document) -> Iterator[Finding]:
    """The controller rules of the document's kind (an unknown kind is itself a finding)."""
    rules = KIND_RULES.get(doc.kind)
    if rules is None:
        yield at(doc.file, doc.index, ["kind"],
                 f"not an Argo Events kind this project uses ({', '.join(KIND_RULES)})")
        return
    yield from located(doc.file, doc.index, rules(doc))
