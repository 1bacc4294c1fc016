"""Manifests in the shape the renderer writes (Kafka EventSource, calendar, step Sensor).

Plain dicts so each test can change one field; :func:`write` lays them out as the committed
``argo-events/`` folder is laid out.
"""
from __future__ import annotations

import copy
import pathlib

import yaml

from etlkit.workflow.invocation import dead_letter_parameters

GATEWAY = "http://gateway.openfaas:8080"
KAFKA = "etl-kafka-bootstrap.kafka.svc:9092"
INVOCATION = ('{"workflow": "wf", "version": 1, "step": {"kind": "test"}, '
              '"event": {{ toJson .Input }}}')


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


def sensor(name: str, eventsource: str, event: str, function: str, *, dlq_topic: str | None = None,
           steps: int = 3, duration: str = "10ms", allow: list[int] | None = (200,),
           filters: dict | None = None, batch_size: int | None = None, query: str = "",
           payload_template: str = INVOCATION, timeout: int = 30) -> dict:
    trigger: dict = {
        "template": {"name": f"{name}-call", "http": {
            "url": f"{GATEWAY}/function/{function}{query}", "method": "POST", "timeout": timeout,
            "headers": {"Content-Type": "application/json"},
            "payload": [{"src": {"dependencyName": "in", "dataTemplate": payload_template}, "dest": ""}]}},
        "retryStrategy": {"steps": steps, "duration": duration, "factor": 2, "jitter": 0},
        "atLeastOnce": True,
    }
    if allow is not None:
        trigger["policy"] = {"status": {"allow": list(allow)}}
    if dlq_topic:
        trigger["dlqTrigger"] = {"template": {"name": f"{name}-dead-letter", "kafka": {
            "url": KAFKA, "topic": dlq_topic,
            "requiredAcks": -1, "payload": dead_letter_parameters("in", name, "gave up")}},
            "atLeastOnce": True}
    dependency: dict = {"name": "in", "eventSourceName": eventsource, "eventName": event}
    if filters:
        dependency["filters"] = filters
    metadata: dict = {"name": name, "namespace": "argo-events"}
    if batch_size:
        metadata["annotations"] = {"faas-etl.dev/batch-size": str(batch_size),
                                   "faas-etl.dev/batch-wait-ms": "50"}
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
