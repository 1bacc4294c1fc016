"""Manifests in the shape the renderer writes (Kafka EventSource, calendar, step and tick Sensors).

Plain dicts so each test can change one field; :func:`write` lays them out as the committed
``argo-events/`` folder is laid out.
"""
from __future__ import annotations

import copy
import json
import pathlib

import yaml

GATEWAY = "http://gateway.openfaas:8080"
KAFKA = "etl-kafka-bootstrap.kafka.svc:9092"
STEP = {"kind": "test"}
# A tick Sensor's one parameter (dest ""): the envelope around {{ toJson .Input }}.
TICK_INVOCATION = ('{"workflow": "wf", "version": 1, "source": {"kind": "test"}, '
                   '"event": {{ toJson .Input }}}')


def step_payload(dependency: str, workflow: str = "wf", version: int = 1, step: dict = STEP) -> list[dict]:
    """A step Sensor's HTTP payload, exactly as the renderer writes it (issue 15; docs/contracts.md
    "Step invocation"): constant ``value`` texts, the Argo event ID (``contextKey: id``) and the
    event data's exact bytes (``dataKey: "@this"``, ``useRawData``)."""
    def src(**fields) -> dict:
        return {"dependencyName": dependency, **fields}

    return [{"src": src(value=workflow), "dest": "workflow"},
            {"src": src(value=str(version)), "dest": "version"},
            {"src": src(value=json.dumps(step, separators=(",", ":"))), "dest": "step"},
            {"src": src(contextKey="id"), "dest": "id"},
            {"src": src(dataKey="@this", useRawData=True), "dest": "event"}]


def kafka_eventsource(name: str, topic: str, group: str, oldest: bool = True) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "EventSource",
            "metadata": {"name": name, "namespace": "argo-events"},
            "spec": {"eventBusName": "default", "kafka": {topic: {
                "url": KAFKA, "topic": topic, "jsonBody": True,
                "consumerGroup": {"groupName": group, "oldest": oldest, "rebalanceStrategy": "range"},
                "connectionBackoff": {"steps": 5, "duration": "2s", "factor": 2}}}}}


def calendar_eventsource(name: str, event: str, interval: str | None = None,
                         schedule: str | None = None) -> dict:
    spec = {"interval": interval} if interval else {"schedule": schedule, "timezone": "UTC"}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "EventSource", "metadata": {"name": name},
            "spec": {"calendar": {event: spec}}}


def dead_letter_payload(dependency: str, step: str, reason: str) -> list[dict]:
    """A dlqTrigger's Kafka payload as the renderer writes it: the record itself as JSON
    (``dataKey: body``, ``useRawData``), where it came from, the Argo event ID, and when."""
    def src(**fields) -> dict:
        return {"dependencyName": dependency, **fields}

    return [{"src": src(value=step), "dest": "step"},
            {"src": src(value=reason), "dest": "reason"},
            {"src": src(dataKey="body", useRawData=True), "dest": "payload"},
            {"src": src(dataKey="topic"), "dest": "topic"},
            {"src": src(dataKey="key"), "dest": "key"},
            {"src": src(dataKey="partition"), "dest": "partition"},
            {"src": src(contextKey="id"), "dest": "id"},
            {"src": src(dataTemplate="{{ (now).UnixMilli }}"), "dest": "at"}]


def sensor(name: str, eventsource: str, event: str, function: str, *, dlq_topic: str | None = None,
           steps: int = 3, duration: str = "10ms", allow: list[int] | None = (200,), query: str = "",
           tick: bool = False, timeout: int = 30) -> dict:
    """A step Sensor (:func:`step_payload`), or with ``tick`` a tick Sensor (one ``dataTemplate``
    parameter, ``dest: ""``)."""
    payload = ([{"src": {"dependencyName": "in", "dataTemplate": TICK_INVOCATION}, "dest": ""}] if tick
               else step_payload("in"))
    trigger: dict = {
        "template": {"name": f"{name}-call", "http": {
            "url": f"{GATEWAY}/function/{function}{query}", "method": "POST", "timeout": timeout,
            "headers": {"Content-Type": "application/json"}, "payload": payload}},
        "retryStrategy": {"steps": steps, "duration": duration, "factor": 2, "jitter": 0},
        "atLeastOnce": True,
    }
    if allow is not None:
        trigger["policy"] = {"status": {"allow": list(allow)}}
    if dlq_topic:
        trigger["dlqTrigger"] = {"template": {"name": f"{name}-dead-letter", "kafka": {
            "url": KAFKA, "topic": dlq_topic,
            "requiredAcks": -1, "payload": dead_letter_payload("in", name, "gave up")}},
            "atLeastOnce": True}
    dependency: dict = {"name": "in", "eventSourceName": eventsource, "eventName": event}
    metadata: dict = {"name": name, "namespace": "argo-events"}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor", "metadata": metadata,
            "spec": {"eventBusName": "default", "template": {"serviceAccountName": "sensor"},
                     "dependencies": [dependency], "triggers": [trigger]}}


def write(directory: pathlib.Path, *docs: dict) -> pathlib.Path:
    """Write each document to ``event-sources/`` or ``sensors/`` under ``directory``."""
    for doc in docs:
        folder = directory / ("sensors" if doc["kind"] == "Sensor" else "event-sources")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{doc['metadata']['name']}.yaml").write_text(yaml.safe_dump(copy.deepcopy(doc), sort_keys=False))
    return directory
