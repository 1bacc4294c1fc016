"""A Sensor manifest as a typed, frozen, validated object (what the runner executes).

Parsed before any client opens. What Argo would accept and then fail on for every event (a
dataKey gjson cannot read, a template outside the supported subset, a filter value that does not
parse) is refused here, as is every feature the runner does not implement (named in the error),
and anything unknown (a typo). Cluster-only settings (pod template, replicas, TLS) are ignored.

The runner's own option, ignored by real Argo: the annotation ``faas-etl.dev/batch-size: "<n>"``
makes one HTTP request carry up to n events (see :mod:`.dispatch`); ``faas-etl.dev/batch-wait-ms``
is how long to wait for a batch's first event (the rest are those that follow without a pause,
see :func:`.runner.poll_batch`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import gjson, gotemplate
from .filters import (ContextFilter, DataFilter, DependencyFilter, ExprFilter, compile_data_filter,
                      compile_expr_filter)
from .params import Param, ParamSource
from .retry import Backoff, parse_backoff
from .yamlnode import Node

BATCH_SIZE = "faas-etl.dev/batch-size"
BATCH_WAIT_MS = "faas-etl.dev/batch-wait-ms"
DEFAULT_BATCH_WAIT_MS = 200
DEFAULT_HTTP_TIMEOUT_S = 60  # Argo's default
HTTP_METHODS = ("GET", "DELETE", "PATCH", "POST", "PUT")
_OTHER_TRIGGERS = ("k8s", "argoWorkflow", "awsLambda", "custom", "nats", "slack", "openWhisk",
                   "azureEventHubs", "azureServiceBus", "pulsar", "email")
_TLS = ("tls", "sasl")


@dataclass(frozen=True)
class SecretRef:
    """A Kubernetes secret key; locally the file ``<secrets dir>/<name>/<key>``."""

    name: str
    key: str


@dataclass(frozen=True)
class HttpAction:
    url: str
    method: str
    payload: tuple[Param, ...]
    headers: tuple[tuple[str, str], ...] = ()
    secure_headers: tuple[tuple[str, SecretRef], ...] = ()
    dynamic_headers: tuple[tuple[str, ParamSource], ...] = ()
    basic_auth: tuple[SecretRef | None, SecretRef | None] | None = None
    timeout_s: float = DEFAULT_HTTP_TIMEOUT_S


@dataclass(frozen=True)
class KafkaAction:
    url: str
    topic: str
    payload: tuple[Param, ...]
    partitioning_key: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LogAction:
    interval_s: int = 0


@dataclass(frozen=True)
class Trigger:
    name: str
    dependencies: tuple[str, ...]  # fires on an event of any of these (one at a time)
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
    filter: DependencyFilter | None = None


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


def _logical(node: Node) -> bool:
    value = node.string(default="")
    if value not in ("", "and", "or"):
        raise node.error("must be and or or")
    return value == "or"


def _data_filter(node: Node) -> DataFilter:
    node.mapping(("path", "type", "value", "comparator", "template"))
    values = node.child("value").value
    if values is not None and (not isinstance(values, list) or not all(isinstance(v, str) for v in values)):
        raise node.child("value").error("must be a list of strings (quote numbers and booleans)")
    template = node.child("template")
    parsed_template = template.parsed(gotemplate.parse) if template.present else None
    try:
        return compile_data_filter(node.child("path").string(required=True),
                                   node.child("type").string(required=True), values or [],
                                   node.child("comparator").string(), parsed_template)
    except ValueError as exc:
        raise node.error(str(exc)) from exc


def _expr_filter(node: Node) -> ExprFilter:
    node.mapping(("expr", "fields"))
    fields = []
    for f in node.child("fields").items(required=True):
        f.mapping(("name", "path"))
        fields.append((f.child("name").string(required=True), f.child("path").string(required=True)))
    try:
        return compile_expr_filter(node.child("expr").string(required=True), fields)
    except ValueError as exc:
        raise node.error(str(exc)) from exc


def _filters(node: Node, operator: Node) -> DependencyFilter | None:
    if not node.present:
        return None
    node.mapping(("data", "exprs", "context", "dataLogicalOperator", "exprLogicalOperator"),
                 refused={"time": "time filters are not supported by the local runner",
                          "script": "Lua script filters are not supported by the local runner"})
    context = node.child("context")
    context_filter = None
    if context.present:
        context.mapping(("type", "subject", "source", "datacontenttype"),
                        refused={k: "Argo compares only type, subject, source and datacontenttype"
                                 for k in ("id", "specversion", "time")})
        context_filter = ContextFilter(*(context.child(k).string() for k in
                                         ("type", "subject", "source", "datacontenttype")))
    return DependencyFilter(
        data=tuple(_data_filter(n) for n in node.child("data").items()),
        data_or=_logical(node.child("dataLogicalOperator")),
        exprs=tuple(_expr_filter(n) for n in node.child("exprs").items()),
        exprs_or=_logical(node.child("exprLogicalOperator")),
        context=context_filter, filters_or=_logical(operator))


def _dependency(node: Node) -> Dependency:
    node.mapping(("name", "eventSourceName", "eventName", "filters", "filtersLogicalOperator"),
                 refused={"transform": "dependency transforms (jq, Lua) are not supported by the local runner"})
    return Dependency(node.child("name").string(required=True),
                      node.child("eventSourceName").string(required=True),
                      node.child("eventName").string(required=True),
                      _filters(node.child("filters"), node.child("filtersLogicalOperator")))


def _source(node: Node, dependencies: set[str]) -> ParamSource:
    node.mapping(("dependencyName", "dataKey", "dataTemplate", "contextKey", "contextTemplate",
                  "value", "useRawData"), required=True)
    dependency = node.child("dependencyName").string(required=True)
    if dependency not in dependencies:
        raise node.child("dependencyName").error(
            f"no dependency named {dependency!r} (have {', '.join(sorted(dependencies))})")

    def path(key: str):
        child = node.child(key)
        return child.parsed(gjson.parse_get_path) if child.string() else None

    def template(key: str):
        child = node.child(key)
        return child.parsed(gotemplate.parse) if child.string() else None

    value = node.child("value")
    return ParamSource(dependency, path("dataKey"), template("dataTemplate"), path("contextKey"),
                       template("contextTemplate"), value.string() if value.present else None,
                       node.child("useRawData").boolean())


def _params(node: Node, dependencies: set[str], *, required: bool = False) -> tuple[Param, ...]:
    params = []
    for item in node.items(required=required):
        item.mapping(("src", "dest", "operation"))
        dest = item.child("dest")
        params.append(Param(_source(item.child("src"), dependencies),
                            dest.parsed(gjson.parse_set_path) if dest.string() else None))
    if required and not params:
        raise node.error("must not be empty")
    return tuple(params)


def _secret(node: Node) -> SecretRef:
    node.mapping(("name", "key"), ignored=("optional",), required=True)
    return SecretRef(node.child("name").string(required=True), node.child("key").string(required=True))


def _http(node: Node, dependencies: set[str]) -> HttpAction:
    node.mapping(("url", "method", "payload", "headers", "secureHeaders", "dynamicHeaders",
                  "basicAuth", "timeout"), ignored=("tls",),
                 refused={"parameters": "http.parameters are not supported by the local runner",
                          "host": "http.host is not supported by the local runner"})
    method = node.child("method").string(default="POST")
    if method not in HTTP_METHODS:
        raise node.child("method").error(f"must be one of {', '.join(HTTP_METHODS)}")
    secure = []
    for item in node.child("secureHeaders").items():
        item.mapping(("name", "valueFrom"))
        value_from = item.child("valueFrom").mapping(
            ("secretKeyRef",), refused={"configMapKeyRef": "config map headers are not supported locally"},
            required=True)
        secure.append((item.child("name").string(required=True), _secret(value_from.child("secretKeyRef"))))
    dynamic = []
    for item in node.child("dynamicHeaders").items():
        item.mapping(("src", "dest", "operation"))
        dynamic.append((item.child("dest").string(required=True), _source(item.child("src"), dependencies)))
    auth = node.child("basicAuth")
    basic = None
    if auth.present:
        auth.mapping(("username", "password"))
        basic = tuple(_secret(auth.child(k)) if auth.child(k).present else None
                      for k in ("username", "password"))
    timeout = node.child("timeout").integer(default=0, minimum=0)
    return HttpAction(node.child("url").string(required=True), method,
                      _params(node.child("payload"), dependencies), node.child("headers").string_map(),
                      tuple(secure), tuple(dynamic), basic, timeout or DEFAULT_HTTP_TIMEOUT_S)


def _kafka(node: Node, dependencies: set[str]) -> KafkaAction:
    node.mapping(("url", "topic", "payload", "partitioningKey", "headers"),
                 ignored=("partition", "requiredAcks", "compress", "flushFrequency", "version", *_TLS),
                 refused={"parameters": "kafka.parameters are not supported by the local runner",
                          "schemaRegistry": "Avro through a schema registry is not supported locally",
                          "secureHeaders": "kafka.secureHeaders are not supported by the local runner"})
    key = node.child("partitioningKey")
    return KafkaAction(node.child("url").string(required=True), node.child("topic").string(required=True),
                       _params(node.child("payload"), dependencies, required=True),
                       key.string() if key.present else None, node.child("headers").string_map())


def _conditions(node: Node, dependencies: tuple[str, ...]) -> tuple[str, ...]:
    text = node.string()
    if not text.strip():
        if len(dependencies) > 1:
            raise node.error(f"no conditions: Argo fires only when all of {', '.join(dependencies)} "
                             "have an event (AND), which the local runner does not do; use "
                             "conditions: \"a || b\" or one dependency per trigger")
        return dependencies
    if "&&" in text:
        raise node.error("conditions with && (events of several dependencies at once) are not "
                         "supported by the local runner; use ||")
    names = tuple(n for n in (part.strip(" ()\t") for part in text.split("||")) if n)
    for name in names:
        if name not in dependencies or not re.fullmatch(r"[\w.-]+", name):
            raise node.error(f"{name!r} is not a dependency of this sensor")
    return names


def parse_trigger(node: Node, dependencies: tuple[str, ...], *, fired_by: tuple[str, ...] | None = None) -> Trigger:
    """A trigger of a Sensor with ``dependencies``; a dlqTrigger gets its parent's ``fired_by``."""
    is_dlq = fired_by is not None
    node.mapping(("template", "policy", "retryStrategy", "atLeastOnce", "dlqTrigger"),
                 ignored=("rateLimit",),
                 refused={"parameters": "trigger parameters are not supported by the local runner"})
    template = node.child("template").mapping(
        ("name", "conditions", "http", "kafka", "log"),
        refused={"conditionsReset": "conditionsReset is not supported by the local runner",
                 **{k: f"{k} triggers are not supported by the local runner (http, kafka, log)"
                    for k in _OTHER_TRIGGERS}}, required=True)
    kinds = [k for k in ("http", "kafka", "log") if template.child(k).present]
    if len(kinds) != 1:
        raise template.error(f"set exactly one of http, kafka, log (found {len(kinds)})")
    known = set(dependencies)
    if kinds == ["http"]:
        action = _http(template.child("http"), known)
    elif kinds == ["kafka"]:
        action = _kafka(template.child("kafka"), known)
    else:
        log = template.child("log").mapping(("intervalSeconds",))
        action = LogAction(log.child("intervalSeconds").integer(minimum=0))
    policy = node.child("policy").mapping(("status",), refused={"k8s": "k8s policies need a cluster"})
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
    (and an HTTP trigger's dynamic headers) then dereference a nil value and the Sensor process
    panics (v1.9.11 has no recover). A trigger fires with the event of one of ``fired``."""
    if isinstance(action, LogAction):
        return
    params = [(node.child("payload").child(i).child("src"), p.src) for i, p in enumerate(action.payload)
              if p.dest is not None]
    if isinstance(action, HttpAction):
        params += [(node.child("dynamicHeaders").child(i).child("src"), src)
                   for i, (_, src) in enumerate(action.dynamic_headers)]
    for where, src in params:
        if src.value is None and fired != (src.dependency,):
            raise where.error(f"{src.dependency!r} may have no event when this trigger fires (on "
                              f"{' || '.join(fired)}) and there is no value: Argo's Sensor panics "
                              "on the nil value; set value, or name the dependency that fires it")


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
        ignored=("template", "replicas", "eventBusName", "errorOnFailedRound", "revisionHistoryLimit",
                 "loggingFields"), required=True)
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
