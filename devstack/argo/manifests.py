"""Read a folder of Argo Events manifests into typed, frozen, validated objects.

Every ``*.yaml``/``*.yml`` below the folder is read (several documents per file allowed);
``argoproj.io`` EventSources and Sensors are parsed, EventBuses and other kinds are skipped.
Each Sensor dependency must name an event the folder defines.

EventSources as the renderer emits them (``etlkit/workflow/templates/*-eventsource.yaml.j2``),
and nothing else (the rest is refused naming the field, see :func:`.yamlnode.unsupported`):

* ``kafka``: ``url``, ``topic``, ``jsonBody: true``, ``consumerGroup`` (``groupName``,
  ``oldest``, ``rebalanceStrategy``); ``connectionBackoff`` is a cluster setting, ignored;
* ``calendar``: ``interval`` (a Go duration), or ``schedule`` (5-field cron) with
  ``timezone: "UTC"``. Errors are :class:`ManifestError`
(``<file>: <path>: <rule>``); things Argo does that are worth knowing (a trigger without
``policy.status.allow`` counts a 5xx as success) come back as ``warnings``.

:func:`plan_subscriptions` turns the result into what the runner consumes: one subscription per
(Sensor, dependency), each Kafka one with its own consumer group when several Sensors read the
same event (``<groupName>.<sensor>``), so each commits its offsets independently.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Any

import yaml

from .cron import CronSchedule, IntervalSchedule, parse_cron, parse_interval
from .sensor_spec import Dependency, HttpAction, Sensor, Trigger, parse_sensor
from .yamlnode import ManifestError, Node, unsupported

API_GROUP = "argoproj.io/"
SOURCE_SETTINGS = ("eventBusName", "replicas", "service", "template")
REBALANCE_STRATEGIES = ("range", "roundrobin", "sticky")


@dataclass(frozen=True)
class KafkaSource:
    event_source: str
    event_name: str
    file: str
    url: str
    topic: str
    group: str  # consumerGroup.groupName
    oldest: bool = False
    rebalance: str = "range"  # jsonBody is always true (refused otherwise)


@dataclass(frozen=True)
class CalendarSource:
    event_source: str
    event_name: str
    file: str
    schedule: CronSchedule | IntervalSchedule  # evaluated in UTC


Source = KafkaSource | CalendarSource


@dataclass(frozen=True)
class Manifests:
    sources: tuple[Source, ...]
    sensors: tuple[Sensor, ...]
    warnings: tuple[str, ...] = ()

    def source(self, event_source: str, event_name: str) -> Source:
        return next(s for s in self.sources
                    if (s.event_source, s.event_name) == (event_source, event_name))


@dataclass(frozen=True)
class Subscription:
    """One Sensor dependency on one event source event, and the triggers it fires."""

    sensor: Sensor
    dependency: Dependency
    source: Source
    triggers: tuple[Trigger, ...]
    group: str | None = None  # the Kafka consumer group this subscription commits in

    @property
    def label(self) -> str:
        return f"{self.sensor.name}/{self.dependency.name}"


_KAFKA_EMITTED = "url, topic, jsonBody: true, consumerGroup (groupName, oldest, rebalanceStrategy)"
_CALENDAR_EMITTED = "interval, or schedule with timezone \"UTC\""


def _kafka(node: Node, es: str, name: str) -> KafkaSource:
    node.mapping(("url", "topic", "consumerGroup", "jsonBody"), ignored=("connectionBackoff",),
                 refused=dict.fromkeys(("partition", "metadata", "limitEventsPerSecond", "filter",
                                        "schemaRegistry", "tls", "sasl", "version", "config"),
                                       unsupported(_KAFKA_EMITTED)), required=True)
    if node.child("jsonBody").boolean() is not True:
        raise node.child("jsonBody").error(f"must be true: {unsupported(_KAFKA_EMITTED)}")
    group = node.child("consumerGroup").mapping(("groupName", "oldest", "rebalanceStrategy"), required=True)
    strategy = group.child("rebalanceStrategy").string(default="range")
    if strategy not in REBALANCE_STRATEGIES:
        raise group.child("rebalanceStrategy").error(f"must be one of {', '.join(REBALANCE_STRATEGIES)}")
    return KafkaSource(es, name, node.file, node.child("url").string(required=True),
                       node.child("topic").string(required=True), group.child("groupName").string(required=True),
                       group.child("oldest").boolean(), strategy)


def _calendar(node: Node, es: str, name: str) -> CalendarSource:
    node.mapping(("schedule", "interval", "timezone"),
                 refused=dict.fromkeys(("exclusionDates", "metadata", "persistence", "filter"),
                                       unsupported(_CALENDAR_EMITTED)), required=True)
    schedule, interval, tz = node.child("schedule"), node.child("interval"), node.child("timezone")
    if schedule.present == interval.present:
        raise node.error("set schedule or interval (one of them)")
    if schedule.present:
        parsed: CronSchedule | IntervalSchedule = schedule.parsed(parse_cron)
        if tz.string() != "UTC":
            raise tz.error(f"must be \"UTC\" beside a schedule: {unsupported(_CALENDAR_EMITTED)}")
    else:
        parsed = interval.parsed(parse_interval)
        if tz.present:
            raise tz.error(unsupported(_CALENDAR_EMITTED))
    return CalendarSource(es, name, node.file, parsed)


def _event_source(doc: Node) -> list[Source]:
    es = doc.child("metadata").child("name").string(required=True)
    spec = doc.child("spec")
    if not isinstance(spec.value, dict):
        raise spec.error("must be a mapping")
    out: list[Source] = []
    for kind, events in spec.value.items():
        if kind in SOURCE_SETTINGS:
            continue
        if kind not in ("kafka", "calendar"):
            raise spec.child(kind).error(f"{kind} event sources: {unsupported('kafka, calendar')}")
        events_node = spec.child(kind)
        if not isinstance(events_node.value, dict):
            raise events_node.error("must map event names to their settings")
        parse = _kafka if kind == "kafka" else _calendar
        out += [parse(events_node.child(name), es, name) for name in events_node.value]
    return out


def _documents(directory: pathlib.Path) -> list[Node]:
    files = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    docs = []
    for path in files:
        rel = path.relative_to(directory).as_posix()
        try:
            loaded = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as exc:
            raise ManifestError(rel, "", f"not valid YAML: {exc}") from exc
        for i, value in enumerate(loaded):
            if value is None:
                continue
            where = rel if len(loaded) == 1 else f"{rel}#{i}"
            if not isinstance(value, dict):
                raise ManifestError(where, "", "a document must be a mapping")
            docs.append(Node(where, "", value))
    return docs


def _warnings(sensor: Sensor, raw: dict[str, Any]) -> list[str]:
    out = []
    raw_triggers = (raw.get("spec") or {}).get("triggers") or []
    for i, trigger in enumerate(sensor.triggers):
        where = f"{sensor.file}: spec.triggers[{i}] ({trigger.name})"
        if isinstance(trigger.action, HttpAction) and trigger.allow is None:
            out.append(f"{where}: no policy.status.allow, so Argo (and this runner) count every "
                       "HTTP answer, even a 5xx, as success")
        raw_trigger = raw_triggers[i] if i < len(raw_triggers) and isinstance(raw_triggers[i], dict) else {}
        if not trigger.at_least_once and raw_trigger.get("retryStrategy"):
            out.append(f"{where}: atLeastOnce is false: Argo runs the trigger in the background, "
                       "so its retryStrategy never applies (at most once)")
    used = {name for t in sensor.triggers for name in t.dependencies}
    for dep in sensor.dependencies:
        if dep.name not in used:
            out.append(f"{sensor.file}: dependency {dep.name!r} is used by no trigger")
    return out


def load_manifests(directory: str | pathlib.Path) -> Manifests:
    """Parse every EventSource and Sensor under ``directory``; ``ManifestError`` on the first problem."""
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise ManifestError(str(directory), "", "is not a folder")
    sources: dict[tuple[str, str], Source] = {}
    sensors: dict[str, tuple[Sensor, dict]] = {}
    warnings: list[str] = []
    for doc in _documents(directory):
        api, kind = doc.child("apiVersion").value, doc.child("kind").value
        if not isinstance(api, str) or not api.startswith(API_GROUP):
            continue
        if kind == "EventSource":
            for source in _event_source(doc):
                key = (source.event_source, source.event_name)
                if key in sources:
                    raise ManifestError(doc.file, "metadata.name",
                                        f"event {key[0]}/{key[1]} is also defined in {sources[key].file}")
                sources[key] = source
        elif kind == "Sensor":
            sensor = parse_sensor(doc)
            if sensor.name in sensors:
                raise ManifestError(doc.file, "metadata.name",
                                    f"sensor {sensor.name!r} is also defined in {sensors[sensor.name][0].file}")
            sensors[sensor.name] = (sensor, doc.value)
    for sensor, raw in sensors.values():
        for i, dep in enumerate(sensor.dependencies):
            if (dep.event_source, dep.event_name) not in sources:
                raise ManifestError(sensor.file, f"spec.dependencies[{i}]",
                                    f"no EventSource {dep.event_source!r} with event {dep.event_name!r} "
                                    f"under {directory}")
        warnings += _warnings(sensor, raw)
    return Manifests(tuple(sources.values()), tuple(s for s, _ in sensors.values()), tuple(warnings))


def plan_subscriptions(manifests: Manifests) -> tuple[Subscription, ...]:
    """One subscription per (Sensor, dependency used by a trigger), in a stable order."""
    plain = []
    for sensor in sorted(manifests.sensors, key=lambda s: s.name):
        for dep in sensor.dependencies:
            triggers = tuple(t for t in sensor.triggers if dep.name in t.dependencies)
            if triggers:
                plain.append(Subscription(sensor, dep, manifests.source(dep.event_source, dep.event_name),
                                          triggers))
    readers: dict[tuple[str, str], int] = {}
    for sub in plain:
        key = (sub.source.event_source, sub.source.event_name)
        readers[key] = readers.get(key, 0) + 1
    planned = []
    for sub in plain:
        group = None
        if isinstance(sub.source, KafkaSource):
            shared = readers[(sub.source.event_source, sub.source.event_name)] > 1
            group = f"{sub.source.group}.{sub.sensor.name}" if shared else sub.source.group
        planned.append(Subscription(sub.sensor, sub.dependency, sub.source, sub.triggers, group))
    return tuple(planned)
