"""A Sensor manifest as a typed, frozen, validated object (what the runner executes).

Parsed before any client opens. The real Argo Events is the reference (``devstack/realargo``,
``tests/devstack/argo/test_conformance.py``); this runner stands in for it only as far as what
we emit, and refuses the rest at load, naming file, field path and rule, so it never accepts
what Argo would not (or accepts and runs it otherwise). What we emit (the templates under
``etlkit/workflow/templates``, with :mod:`etlkit.workflow.invocation` and
``etlkit/steps/expressions/pushdown.py``; the manifests our tests write have the same shape):

* ``spec``: ``dependencies``, ``triggers`` (``eventBusName``, ``template``, ``replicas`` and
  the like are cluster settings, ignored);
* a dependency: ``name``, ``eventSourceName``, ``eventName`` and ``filters.data`` only
  (:mod:`.filters`);
* a trigger: ``template`` with ``name``, ``conditions`` (one dependency's name) and one of
  ``http`` (``url``, ``method: POST``, ``headers``, ``timeout``, ``payload``), ``kafka``
  (``url``, ``topic``, ``requiredAcks``, ``payload``) or ``log``; ``retryStrategy``,
  ``policy.status.allow``, ``atLeastOnce``, and a ``dlqTrigger`` (a Kafka trigger);
* a payload parameter: ``src.dependencyName`` and one of ``value``, ``dataKey`` (with
  ``useRawData``) or ``dataTemplate`` (:mod:`.gotemplate`); ``dest`` a plain key, or ``""`` for
  an HTTP trigger's one parameter (the whole body).

Refused, each with :func:`unsupported`: exprs, context filters, data filter templates, logical
operators, transforms, time and script filters; triggers other than http, kafka, log; secure,
dynamic and basic-auth headers; ``contextKey``/``contextTemplate``, a parameter with no or
several sources, a nested or empty Kafka ``dest``; ``conditions`` other than one name,
``conditionsReset``, ``rateLimit``, parameters. Anything unknown is a typo.

The runner's own option, ignored by real Argo: the annotation ``faas-etl.dev/batch-size: "<n>"``
makes one HTTP request carry up to n events (see :mod:`.dispatch`); ``faas-etl.dev/batch-wait-ms``
is how long to wait for a batch's first event (the rest are those that follow without a pause,
see :func:`.runner.poll_batch`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import gjson, gotemplate
from .filters import DataFilter, compile_data_filter
from .params import Param, ParamSource
from .retry import Backoff, parse_backoff
from .yamlnode import Node, unsupported

BATCH_SIZE = "faas-etl.dev/batch-size"
BATCH_WAIT_MS = "faas-etl.dev/batch-wait-ms"
DEFAULT_BATCH_WAIT_MS = 200
DEFAULT_HTTP_TIMEOUT_S = 60  # Argo's default
_DEST = re.compile(r"[A-Za-z0-9_-]+")
_OTHER_TRIGGERS = ("k8s", "argoWorkflow", "awsLambda", "custom", "nats", "slack", "openWhisk",
                   "azureEventHubs", "azureServiceBus", "pulsar", "email", "grpc")


def _refuse(keys, emitted: str) -> dict[str, str]:
    return dict.fromkeys(keys, unsupported(emitted))


@dataclass(frozen=True)
class HttpAction:
    url: str
    method: str  # POST, the one method the renderer writes
    payload: tuple[Param, ...]
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float = DEFAULT_HTTP_TIMEOUT_S


@dataclass(frozen=True)
class KafkaAction:
    url: str
    topic: str
    payload: tuple[Param, ...]


@dataclass(frozen=True)
class LogAction:
    """``log: {}``: each event logged (a real-parts test's trigger that needs no function)."""


@dataclass(frozen=True)
class Trigger:
    name: str
    dependencies: tuple[str, ...]  # fires on an event of this one (a Sensor of one dependency: it)
    action: HttpAction | KafkaAction | LogAction
    allow: tuple[int, ...] | None = None  # policy.status.allow; None: any answer is success
    retry: Backoff = Backoff()
    at_least_once: bool = False
    dlq: "Trigger | None" = None


@dataclass(frozen=True)
class Dependency:
    name: str
    event_source: str
    event_name: str
    filter: tuple[DataFilter, ...] | None = None  # filters.data entries, and-ed


@dataclass(frozen=True)
class Batching:
    size: int
    wait_ms: int = DEFAULT_BATCH_WAIT_MS


@dataclass(frozen=True)
class Sensor:
    name: str
    file: str
    dependencies: tuple[Dependency, ...]
    triggers: tuple[Trigger, ...]
    batching: Batching | None = None


_FILTERS_EMITTED = "filters.data, a list of {path, type, value, comparator} entries, and-ed"


def _data_filter(node: Node) -> DataFilter:
    node.mapping(("path", "type", "value", "comparator"),
                 refused=_refuse(("template",), "data filters without a template"))
    values = node.child("value").value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise node.child("value").error("must be a list of strings (quote numbers and booleans)")
    path, type_ = node.child("path").string(required=True), node.child("type").string(required=True)
    comparator = node.child("comparator").string(default="=")  # Argo's default, the same filter
    try:
        return compile_data_filter(path, type_, values, comparator)
    except ValueError as exc:
        raise node.error(str(exc)) from exc


def _filters(node: Node) -> tuple[DataFilter, ...] | None:
    if not node.present:
        return None
    node.mapping(("data",), refused=_refuse(
        ("exprs", "context", "time", "script", "dataLogicalOperator", "exprLogicalOperator"), _FILTERS_EMITTED))
    entries = tuple(_data_filter(n) for n in node.child("data").items(required=True))
    if not entries:
        raise node.child("data").error("must not be empty (leave filters out instead)")
    return entries


def _dependency(node: Node) -> Dependency:
    node.mapping(("name", "eventSourceName", "eventName", "filters"),
                 refused=_refuse(("transform", "filtersLogicalOperator"), _FILTERS_EMITTED))
    return Dependency(node.child("name").string(required=True),
                      node.child("eventSourceName").string(required=True),
                      node.child("eventName").string(required=True),
                      _filters(node.child("filters")))


_SOURCES = ("value", "dataKey", "dataTemplate")
_SOURCE_EMITTED = "a dependencyName and one of value, dataKey (with useRawData) or dataTemplate"


def _source(node: Node, dependencies: set[str]) -> ParamSource:
    node.mapping(("dependencyName", *_SOURCES, "useRawData"),
                 refused=_refuse(("contextKey", "contextTemplate"), _SOURCE_EMITTED), required=True)
    dependency = node.child("dependencyName").string(required=True)
    if dependency not in dependencies:
        raise node.child("dependencyName").error(
            f"no dependency named {dependency!r} (have {', '.join(sorted(dependencies))})")
    given = [k for k in _SOURCES if node.child(k).present]
    if len(given) != 1:
        raise node.error(f"{' and '.join(given) or 'no source'}: {unsupported(_SOURCE_EMITTED)}")
    raw = node.child("useRawData")
    if raw.present and given != ["dataKey"]:
        raise raw.error(unsupported("useRawData beside dataKey"))
    value, key, template = (node.child(k) for k in _SOURCES)
    return ParamSource(dependency, key.parsed(gjson.parse_get_path) if key.present else None,
                       template.parsed(gotemplate.parse) if template.present else None,
                       value.string() if value.present else None, raw.boolean())


def _params(node: Node, dependencies: set[str], *, whole_body: bool) -> tuple[Param, ...]:
    """``whole_body``: an HTTP payload, where ``dest: ""`` (the whole body) is allowed."""
    params = []
    for item in node.items(required=True):
        item.mapping(("src", "dest"), refused=_refuse(("operation",), "no operation (overwrite)"))
        dest = item.child("dest")
        text = dest.string(required=False)
        if text == "" and not whole_body:
            raise dest.error("must not be empty: the Argo controller refuses an empty dest but on an "
                             "HTTP trigger")
        if text and not _DEST.fullmatch(text):
            raise dest.error(unsupported("a dest of letters, digits, '_' and '-', or \"\""))
        params.append(Param(_source(item.child("src"), dependencies), text or None))
    if not params:
        raise node.error("must not be empty")
    if any(p.dest is None for p in params) and len(params) > 1:
        raise node.error(unsupported("a payload whose dest \"\" parameter (the whole body) is its only one"))
    seen: set[str] = set()
    for i, p in enumerate(params):
        if p.dest in seen:
            raise node.child(i).child("dest").error(f"{p.dest!r} is set twice")
        seen.add(p.dest)
    return tuple(params)


def _http(node: Node, dependencies: set[str]) -> HttpAction:
    node.mapping(("url", "method", "payload", "headers", "timeout"), refused=_refuse(
        ("secureHeaders", "dynamicHeaders", "basicAuth", "parameters", "host", "tls"),
        "url, method POST, headers, timeout, payload"))
    method = node.child("method").string(default="POST")
    if method != "POST":
        raise node.child("method").error(unsupported("method POST"))
    timeout = node.child("timeout").integer(default=0, minimum=0)
    return HttpAction(node.child("url").string(required=True), method,
                      _params(node.child("payload"), dependencies, whole_body=True),
                      node.child("headers").string_map(), timeout or DEFAULT_HTTP_TIMEOUT_S)


def _kafka(node: Node, dependencies: set[str]) -> KafkaAction:
    node.mapping(("url", "topic", "payload"), ignored=("requiredAcks",), refused=_refuse(
        ("partitioningKey", "headers", "secureHeaders", "parameters", "schemaRegistry", "partition",
         "compress", "flushFrequency", "version", "tls", "sasl"), "url, topic, requiredAcks, payload"))
    return KafkaAction(node.child("url").string(required=True), node.child("topic").string(required=True),
                       _params(node.child("payload"), dependencies, whole_body=False))


def _conditions(node: Node, dependencies: tuple[str, ...]) -> tuple[str, ...]:
    if not node.present:
        if len(dependencies) > 1:
            raise node.error(f"no conditions: Argo fires only when all of {', '.join(dependencies)} "
                             "have an event (AND), which the local runner does not do; name the one "
                             "dependency that fires this trigger")
        return dependencies
    text = node.string(required=True).strip()
    if text not in dependencies:
        raise node.error(f"{text!r}: {unsupported('the name of one dependency of this sensor')}")
    return (text,)


_TRIGGER_EMITTED = "template, retryStrategy, policy.status.allow, atLeastOnce, dlqTrigger"


def parse_trigger(node: Node, dependencies: tuple[str, ...], *, fired_by: tuple[str, ...] | None = None) -> Trigger:
    """A trigger of a Sensor with ``dependencies``; a dlqTrigger gets its parent's ``fired_by``."""
    is_dlq = fired_by is not None
    node.mapping(("template", "policy", "retryStrategy", "atLeastOnce", "dlqTrigger"),
                 refused=_refuse(("parameters", "rateLimit"), _TRIGGER_EMITTED))
    kinds_emitted = "kafka" if is_dlq else "http, kafka (as a dlqTrigger), log"
    template = node.child("template").mapping(
        ("name", "conditions", "http", "kafka", "log"),
        refused={"conditionsReset": unsupported("conditions without a reset"),
                 **_refuse(_OTHER_TRIGGERS, f"{kinds_emitted} triggers")}, required=True)
    kinds = [k for k in ("http", "kafka", "log") if template.child(k).present]
    if len(kinds) != 1:
        raise template.error(f"set exactly one of http, kafka, log (found {len(kinds)})")
    if (kinds == ["kafka"]) != is_dlq:
        raise template.child(kinds[0]).error(unsupported(f"{kinds_emitted} triggers"))
    known = set(dependencies)
    if kinds == ["http"]:
        action = _http(template.child("http"), known)
    elif kinds == ["kafka"]:
        action = _kafka(template.child("kafka"), known)
    else:
        template.child("log").mapping((), refused=_refuse(("intervalSeconds",), "log: {}"))
        action = LogAction()
    policy = node.child("policy").mapping(("status",), refused=_refuse(("k8s",), "policy.status.allow"))
    status = policy.child("status").mapping(("allow",))
    allow = None
    if status.child("allow").present:
        allow = tuple(item.integer() for item in status.child("allow").items())
    dlq = node.child("dlqTrigger")
    at_least_once = node.child("atLeastOnce").boolean()
    if dlq.present and not is_dlq:
        if not at_least_once or not dlq.child("atLeastOnce").boolean():
            raise dlq.error("needs atLeastOnce: true on the trigger and on the dlqTrigger "
                            "(the Argo controller rejects it otherwise)")
    elif dlq.present:
        raise dlq.error("a dlqTrigger cannot have its own dlqTrigger")
    # A dlqTrigger runs with the events its trigger failed on; its own conditions do not apply.
    fired = fired_by if is_dlq else _conditions(template.child("conditions"), dependencies)
    _check_always_resolved(template.child(kinds[0]), action, fired)
    return Trigger(template.child("name").string(required=True), fired, action, allow,
                   node.child("retryStrategy").parsed(parse_backoff), at_least_once,
                   parse_trigger(dlq, dependencies, fired_by=fired) if dlq.present else None)


def _check_always_resolved(node: Node, action: HttpAction | KafkaAction | LogAction,
                           fired: tuple[str, ...]) -> None:
    """Refuse a parameter that may find neither an event nor a ``value``: ``ConstructPayload``
    then dereferences a nil value and the Sensor process panics (v1.9.11 has no recover). A
    trigger fires with the event of its one dependency."""
    if isinstance(action, LogAction):
        return
    for i, p in enumerate(action.payload):
        if p.dest is not None and p.src.value is None and fired != (p.src.dependency,):
            raise node.child("payload").child(i).child("src").error(
                f"{p.src.dependency!r} may have no event when this trigger fires (on "
                f"{' || '.join(fired)}) and there is no value: Argo's Sensor panics on the nil value; "
                "name the dependency that fires it")


def _batching(annotations: Node) -> Batching | None:
    size, wait = annotations.child(BATCH_SIZE), annotations.child(BATCH_WAIT_MS)
    if not size.present:
        if wait.present:
            raise wait.error(f"needs {BATCH_SIZE} too")
        return None

    def number(node: Node, minimum: int) -> int:
        text = node.string(required=True)
        if not text.isdigit() or int(text) < minimum:
            raise node.error(f"must be a whole number of at least {minimum}, quoted")
        return int(text)

    return Batching(number(size, 1), number(wait, 0) if wait.present else DEFAULT_BATCH_WAIT_MS)


def parse_sensor(doc: Node) -> Sensor:
    """A Sensor document (already known to be ``kind: Sensor``)."""
    metadata = doc.child("metadata")
    name = metadata.child("name").string(required=True)
    spec = doc.child("spec").mapping(
        ("dependencies", "triggers"),
        ignored=("template", "replicas", "eventBusName", "revisionHistoryLimit", "loggingFields"),
        refused=_refuse(("errorOnFailedRound",), "dependencies, triggers"), required=True)
    dependencies = tuple(_dependency(n) for n in spec.child("dependencies").items(required=True))
    names = tuple(d.name for d in dependencies)
    seen: dict[tuple[str, str], str] = {}
    for i, dep in enumerate(dependencies):
        where = spec.child("dependencies").child(i)
        if names.count(dep.name) > 1:
            raise where.child("name").error(f"dependency name {dep.name!r} is used twice")
        key = (dep.event_source, dep.event_name)
        if key in seen:
            raise where.error(f"{dep.event_source}/{dep.event_name} is already dependency {seen[key]!r} "
                              "(one dependency per event source event)")
        seen[key] = dep.name
    triggers = tuple(parse_trigger(n, names) for n in spec.child("triggers").items(required=True))
    trigger_names = [t.name for t in triggers]
    for i, t in enumerate(triggers):
        if trigger_names.count(t.name) > 1:
            raise spec.child("triggers").child(i).error(f"trigger name {t.name!r} is used twice")
    batching = _batching(metadata.child("annotations"))
    if batching is not None:
        for i, t in enumerate(triggers):
            if not isinstance(t.action, HttpAction):
                raise spec.child("triggers").child(i).error(
                    f"{BATCH_SIZE} batches HTTP triggers only; this one is not http")
    return Sensor(name, doc.file, dependencies, triggers, batching)
