"""A Sensor manifest as a typed, frozen, validated object (what the runner executes).

Parsed before any client opens. The real Argo Events is the reference (``devstack/realargo``,
``tests/devstack/argo/test_conformance.py``); this runner stands in for it only as far as what
we emit, and refuses the rest at load, naming file, field path and rule, so it never accepts
what Argo would not (or accepts and runs it otherwise). What we emit (the templates under
``etlkit/workflow/templates``, with :mod:`etlkit.workflow.invocation`; the manifests our tests
write have the same shape):

* ``spec``: ``dependencies``, ``triggers`` (``eventBusName``, ``template``, ``replicas`` and
  the like are cluster settings, ignored);
* a dependency: ``name``, ``eventSourceName``, ``eventName`` (no filters: every event of the
  dependency fires its triggers; a step function filters its own records);
* a trigger: ``template`` with ``name``, ``conditions`` (one dependency's name) and one of
  ``http`` (``url``, ``method: POST``, ``headers``, ``timeout``, ``payload``), ``kafka``
  (``url``, ``topic``, ``requiredAcks``, ``payload``) or ``log``; ``retryStrategy``,
  ``policy.status.allow``, ``atLeastOnce``, and a ``dlqTrigger`` (a Kafka trigger);
* a payload parameter: ``src.dependencyName`` and one of ``value``, ``contextKey: id``,
  ``dataKey`` (with ``useRawData``; ``@this`` is the whole event data) or ``dataTemplate``
  (:mod:`.gotemplate`); ``dest`` a plain key, or ``""`` for an HTTP trigger's one parameter
  (the whole body: tick Sensors).

A step Sensor's HTTP payload is ``workflow``, ``version``, ``step`` (``value``), ``id``
(``contextKey: id``) and ``event`` (``dataKey: "@this"``, ``useRawData``): one request per Kafka
message, as Argo sends it (docs/contracts.md, "Step invocation").

Refused, each with :func:`unsupported`: dependency filters (data, exprs, context, time, script,
logical operators) and transforms; triggers other than http, kafka, log; secure, dynamic and
basic-auth headers; ``contextTemplate`` and context keys other than ``id``, a parameter with no
or several sources, a nested or empty Kafka ``dest``; ``conditions`` other than one name,
``conditionsReset``, ``rateLimit``, parameters; the annotations ``faas-etl.dev/batch-size`` and
``faas-etl.dev/batch-wait-ms`` (the local runner's old batching, which Argo never did). Anything
unknown is a typo.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import gjson, gotemplate
from .params import Param, ParamSource
from .retry import Backoff, parse_backoff
from .yamlnode import Node, unsupported

# The local runner's batching annotations, gone with issue 15: refused so an old manifest does
# not silently run one request per message where it meant batches.
BATCH_ANNOTATIONS = ("faas-etl.dev/batch-size", "faas-etl.dev/batch-wait-ms")
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


@dataclass(frozen=True)
class Sensor:
    name: str
    file: str
    dependencies: tuple[Dependency, ...]
    triggers: tuple[Trigger, ...]


_DEPENDENCY_EMITTED = "name, eventSourceName, eventName (no filters: the step function filters records)"


def _dependency(node: Node) -> Dependency:
    node.mapping(("name", "eventSourceName", "eventName"),
                 refused=_refuse(("filters", "transform", "filtersLogicalOperator"), _DEPENDENCY_EMITTED))
    return Dependency(node.child("name").string(required=True),
                      node.child("eventSourceName").string(required=True),
                      node.child("eventName").string(required=True))


_SOURCES = ("value", "contextKey", "dataKey", "dataTemplate")
_SOURCE_EMITTED = "a dependencyName and one of value, contextKey id, dataKey (with useRawData) or dataTemplate"
CONTEXT_KEYS = ("id",)  # the Argo event ID: a step's input identity (docs/contracts.md)


def _source(node: Node, dependencies: set[str]) -> ParamSource:
    node.mapping(("dependencyName", *_SOURCES, "useRawData"),
                 refused=_refuse(("contextTemplate",), _SOURCE_EMITTED), required=True)
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
    value, context, key, template = (node.child(k) for k in _SOURCES)
    if context.present and context.string() not in CONTEXT_KEYS:
        raise context.error(unsupported("contextKey id"))
    return ParamSource(dependency, key.parsed(gjson.parse_get_path) if key.present else None,
                       template.parsed(gotemplate.parse) if template.present else None,
                       value.string() if value.present else None, raw.boolean(),
                       context.string() if context.present else None)


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
        param = Param(_source(item.child("src"), dependencies), text or None)
        if param.dest is None and param.src.data_template is None:
            # Only a tick Sensor's envelope template is the whole body; a step's is built field by field.
            raise dest.error(unsupported('dest "" on a dataTemplate parameter (a tick Sensor\'s body)'))
        params.append(param)
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


def _check_annotations(annotations: Node) -> None:
    for name in BATCH_ANNOTATIONS:
        if annotations.child(name).present:
            raise annotations.child(name).error(unsupported(
                "no batching annotation: one request per Kafka message, as Argo sends it; record "
                "batches travel inside messages (issue 15)"))


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
    _check_annotations(metadata.child("annotations"))
    return Sensor(name, doc.file, dependencies, triggers)
