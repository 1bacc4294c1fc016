"""Which manifests a workflow needs, and the values each one holds: pure data, no templating.

:func:`plan_workflow` lists every resource as a :class:`Manifest` (output path, template name,
context); :mod:`.render` turns those into YAML text. Keeping the decisions here (names, topics,
payloads, filters) means the templates only lay values out, and tests can check a decision
without parsing YAML.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Mapping

from . import invocation, names
from ..durations import duration_text, go_duration
from .model import AUTOSCALER_FUNCTION, TOPIC_TIMESTAMP_TYPE, Source, Workflow

ARGO_DIR = PurePosixPath("argo-events")
TOPICS_DIR = PurePosixPath("k8s/topics")
# The step contract answers 200 only after its outputs are flushed; 202 ("queued" by the async
# gateway) or any other code must not count as delivered.
SUCCESS_CODES = (200,)


@dataclass(frozen=True)
class RenderSettings:
    """Where the workflow's resources live in the cluster; defaults match k8s/ and stack.yml."""

    gateway_url: str = "http://gateway.openfaas:8080"
    kafka_url: str = "etl-kafka-bootstrap.kafka.svc:9092"
    kafka_cluster: str = "etl"  # the Strimzi Kafka resource's name (label strimzi.io/cluster)
    kafka_namespace: str = "kafka"  # where the Strimzi topic operator watches KafkaTopics
    argo_namespace: str = "argo-events"
    eventbus: str = "default"
    jetstream_version: str = "2.10.29"  # listed in the config of Argo Events v1.9.10+ (tools/go/argo-events pins v1.9.11)


@dataclass(frozen=True)
class Manifest:
    """One resource: written to ``path`` from ``template`` with ``context``."""

    path: PurePosixPath
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)


def eventbus_manifest(settings: RenderSettings) -> Manifest:
    """The one EventBus every Sensor and EventSource of the namespace uses."""
    return Manifest(ARGO_DIR / "eventbus" / f"{settings.eventbus}.yaml", "eventbus.yaml.j2", {"settings": settings})


def plan_workflow(workflow: Workflow, version: int, settings: RenderSettings) -> list[Manifest]:
    """Every manifest ``workflow`` needs, in a stable order (topics, event sources, sensors)."""
    common = {"settings": settings, "workflow": workflow.name, "version": version}
    plan = [
        Manifest(
            TOPICS_DIR / f"{t.name}.yaml",
            "kafka-topic.yaml.j2",
            {**common, "topic": t, "retention": duration_text(t.retention_ms), "min_insync": _min_insync(t.replication),
             "timestamp_type": TOPIC_TIMESTAMP_TYPE},
        )
        for t in workflow.topics
    ]
    consumed = sorted({t for s in workflow.steps for t in s.inputs} | set(workflow.sink.inputs))
    plan += [
        Manifest(
            ARGO_DIR / "event-sources" / f"{names.kafka_eventsource(workflow.name, t)}.yaml",
            "kafka-eventsource.yaml.j2",
            {
                **common,
                "name": names.kafka_eventsource(workflow.name, t),
                "topic": t,
                "group": names.consumer_group(workflow.name, t),
                "events": topic_lanes(workflow, t),
            },
        )
        for t in consumed
    ]
    ticks = _ticks(workflow)
    plan.append(
        Manifest(
            ARGO_DIR / "event-sources" / f"{names.calendar_eventsource(workflow.name)}.yaml",
            "calendar-eventsource.yaml.j2",
            {**common, "name": names.calendar_eventsource(workflow.name), "ticks": ticks},
        )
    )
    plan += [_sensor(workflow, common, op) for op in _operations(workflow)]
    plan += [_tick_sensor(workflow, common, tick) for tick in ticks]
    return plan


def topic_lanes(workflow: Workflow, topic: str) -> list[str]:
    """The event names a consumed topic is read through: one lane per partition of the topic as
    the workflow declares it (:func:`.names.lanes`), so every partition has a call in flight of
    its own and extra function replicas have work; a topic the workflow does not declare has one."""
    partitions = next((t.partitions for t in workflow.topics if t.name == topic), 1)
    return [names.lane_event(topic, i) for i in range(names.lanes(partitions))]


def function_url(settings: RenderSettings, function: str) -> str:
    """Where a Sensor calls a function: the gateway's synchronous route (it waits for the answer)."""
    return f"{settings.gateway_url}/function/{function}"


def _min_insync(replication: int) -> int:
    """Writes with acks=all need this many in-sync copies: 2 of 3 lets one broker be down."""
    return max(1, min(2, replication - 1))


def _ticks(workflow: Workflow) -> list[dict[str, Any]]:
    """Calendar events of the workflow: the autoscaler's, then each ticked source's."""
    ticked: list[tuple[str, str, str, Any, dict[str, Any]]] = [
        (names.AUTOSCALER_OPERATION, AUTOSCALER_FUNCTION, "scaling", workflow.scaling.tick, workflow.scaling_spec())
    ]
    ticked += [(s.name, s.function, "source", s.tick, s.spec()) for s in workflow.sources if _is_ticked(s)]
    return [
        {
            "event": event,
            "sensor": names.sensor(workflow.name, event),
            "function": function,
            "role": role,
            "schedule": tick.schedule,
            "interval": go_duration(tick.interval_ms) if tick.interval_ms is not None else None,
            "spec": spec,
        }
        for event, function, role, tick, spec in ticked
    ]


def _is_ticked(source: Source) -> bool:
    return getattr(source, "tick", None) is not None


def _operations(workflow: Workflow) -> list[dict[str, Any]]:
    """Steps and the sink: what each Sensor triggers and with which spec."""
    ops = [
        {"name": s.name, "function": s.function, "inputs": s.inputs, "spec": workflow.step_spec(s)} for s in workflow.steps
    ]
    sink = workflow.sink
    ops.append({"name": sink.name, "function": sink.function, "inputs": sink.inputs, "spec": workflow.sink_spec()})
    return ops


def _sensor(workflow: Workflow, common: Mapping[str, Any], op: Mapping[str, Any]) -> Manifest:
    # No data filters: the event body is a record batch, so ``body.<field>`` names no record
    # field; a filter step's whole condition runs in its function, per record.
    retry = workflow.delivery.retry
    reason = f"{op['function']} did not answer {'/'.join(map(str, SUCCESS_CODES))} in {retry.steps} attempts"
    several = len(op["inputs"]) > 1
    lanes = [(topic, event) for topic in op["inputs"] for event in topic_lanes(workflow, topic)]
    # One trigger per lane (names.lane_event): each trigger has one event in flight, so the lanes
    # are the step's concurrency. A trigger without conditions waits for all its Sensor's
    # dependencies at once, and a dead-letter trigger can only name one dependency's event.
    dependencies = [
        {
            "name": event,
            "event_source": names.kafka_eventsource(workflow.name, topic),
            "event_name": event,
            "trigger": f"{op['name']}-{event}" if several else f"{op['name']}-{event.rsplit('-', 1)[1]}",
            "conditions": event if len(lanes) > 1 else None,
            "payload": invocation.step_parameters(event, workflow.name, common["version"], op["spec"]),
            "dead_letter": invocation.dead_letter_parameters(event, op["name"], reason),
        }
        for topic, event in lanes
    ]
    name = names.sensor(workflow.name, op["name"])
    context = {
        **common,
        "name": name,
        "operation": op["name"],
        "function": op["function"],
        "url": function_url(common["settings"], op["function"]),
        "dependencies": dependencies,
        "timeout_s": -(-workflow.delivery.timeout_ms // 1000),  # whole seconds, rounded up
        "retry": {"steps": retry.steps, "duration": go_duration(retry.duration_ms), "factor": retry.factor, "jitter": retry.jitter},
        "success_codes": list(SUCCESS_CODES),
        "dead_letter_topic": workflow.dead_letter,
    }
    return Manifest(ARGO_DIR / "sensors" / f"{name}.yaml", "step-sensor.yaml.j2", context)


def _tick_sensor(workflow: Workflow, common: Mapping[str, Any], tick: Mapping[str, Any]) -> Manifest:
    context = {
        **common,
        "name": tick["sensor"],
        "operation": tick["event"],
        "function": tick["function"],
        "url": function_url(common["settings"], tick["function"]),
        "event_source": names.calendar_eventsource(workflow.name),
        "tick": tick,
        "payload": invocation.data_template(workflow.name, common["version"], tick["role"], tick["spec"]),
        "success_codes": list(SUCCESS_CODES),
    }
    return Manifest(ARGO_DIR / "sensors" / f"{tick['sensor']}.yaml", "tick-sensor.yaml.j2", context)
