"""One EventSource and one Sensor as real Argo Events processes, started and killed one by one.

:class:`devstack.realargo.runner.RealArgoRunner` runs a folder of committed manifests the way
a deployment should: Sensors first, EventSources once every durable consumer exists. A fault or
defect test needs the other orders too (the EventSource first, as ``kubectl apply -R
argo-events/`` applies them; a Sensor stopped while its EventSource publishes; a kill -9 in the
middle of a call) and a bus of its own (a small ``maxMsgs``). :class:`ArgoPods` gives that from
the same pieces the runner uses: a pod per process on the harness's bridge (:mod:`.podnet`), the
controller's environment (:mod:`.process`), the cluster addresses swapped (:mod:`.localise`).

:func:`kafka_eventsource` and :func:`http_sensor` write the two objects by hand, in the shape
the committed ones had before issue 15 (one event per topic, a ``{{ toJson .Input }}`` payload:
what a today-test pins): jsonBody, a consumer group from the oldest record, an HTTP trigger
with ``atLeastOnce``, a ``retryStrategy``, ``policy.status.allow [200]`` and a Kafka
``dlqTrigger``, the cluster addresses left for :func:`~.localise.localise` to map.

:func:`sink_workflow` writes a scenario's own smallest workflow (a topic of its own, its sink),
:func:`rendered` gives what the renderer (etlkit.workflow.render) writes for it and :func:`calling`
points the rendered Sensor's triggers at a test's function: the defect tests
(tests/devstack/realargo/test_defects.py) so run the objects production runs (lanes, the step
invocation payload), on topics no other scenario touches.

:func:`committed` reads one committed object, :func:`retarget_sensor` points a copy of a committed
Sensor at a scenario's EventSource, function and dead-letter topic (everything else as
committed), and :func:`calendar_eventsource` writes a calendar EventSource shaped like
``argo-events/event-sources/orders-ticks.yaml``: what the differential tests
(tests/devstack/realargo/test_differential.py) run on the stand-in runner and the real processes.
"""
from __future__ import annotations

import copy
import itertools
import json
import pathlib
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping

import yaml

from etlkit.controller.measure import parse_prometheus
from etlkit.workflow import Workflow, parse_workflow
from etlkit.workflow.render import render_workflow

from ..pipeline.selection import Document
from .eventbus import NatsEventBus, StreamState, bus_config, consumers, stream_state
from .localise import CLUSTER_GATEWAY, CLUSTER_KAFKA, localise
from .podnet import PodNetwork
from .process import ArgoProcess, pod_env, pod_name
from .runner import sensor_durables, start_in_apply_order

REPO = pathlib.Path(__file__).resolve().parents[2]
NAMESPACE = "argo-events"
TRIGGER = "call"
# Ours, read only by the local runner (it batches); Argo ignores them and calls once per event.
BATCH_ANNOTATIONS = ("faas-etl.dev/batch-size", "faas-etl.dev/batch-wait-ms")
_serial = itertools.count(1)


def kafka_eventsource(name: str, topic: str, group: str) -> dict[str, Any]:
    """A Kafka EventSource with one event, ``name``, reading ``topic`` from the oldest record."""
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "EventSource",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"eventBusName": "default", "kafka": {name: {
                "url": CLUSTER_KAFKA, "topic": topic, "jsonBody": True,
                "consumerGroup": {"groupName": group, "oldest": True, "rebalanceStrategy": "sticky"},
                "connectionBackoff": {"duration": "2s", "factor": 2, "jitter": 0.2, "steps": 10}}}}}


def http_sensor(name: str, event_source: str, path: str, dlq_topic: str, *, dlq_url: str = CLUSTER_KAFKA,
                steps: int = 3, duration: str = "200ms", event_name: str | None = None) -> dict[str, Any]:
    """A Sensor calling ``http://<gateway>/<path>`` once per event ``event_name`` (default: named
    as the source) of ``event_source`` with ``{"sensor": name, "event": {{ toJson .Input }}}`` (the
    payload before issue 15), the record dead-lettered to ``dlq_topic`` on ``dlq_url`` after
    ``steps`` failed attempts."""
    retry = {"steps": steps, "duration": duration, "factor": 2.0, "jitter": 0.2}
    dep = event_source
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"eventBusName": "default",
                     "dependencies": [{"name": dep, "eventSourceName": event_source,
                                       "eventName": event_name or event_source}],
                     "triggers": [{
                         "template": {"name": TRIGGER, "http": {
                             "url": f"http://{CLUSTER_GATEWAY}/{path.lstrip('/')}", "method": "POST",
                             "headers": {"Content-Type": "application/json"}, "timeout": 30,
                             "payload": [{"src": {"dependencyName": dep, "dataTemplate":
                                                  f'{{"sensor": "{name}", "event": {{{{ toJson .Input }}}}}}'},
                                          "dest": ""}]}},
                         "retryStrategy": retry,
                         "policy": {"status": {"allow": [200]}},
                         "atLeastOnce": True,
                         "dlqTrigger": {
                             "template": {"name": f"{TRIGGER}-dead-letter", "kafka": {
                                 "url": dlq_url, "topic": dlq_topic, "requiredAcks": -1,
                                 "payload": [
                                     {"src": {"dependencyName": dep, "value": name}, "dest": "step"},
                                     {"src": {"dependencyName": dep, "value": f"no 200 in {steps} attempts"},
                                      "dest": "reason"},
                                     {"src": {"dependencyName": dep, "dataKey": "body", "useRawData": True},
                                      "dest": "payload"},
                                     {"src": {"dependencyName": dep, "dataKey": "key"}, "dest": "key"}]}},
                             "retryStrategy": retry, "atLeastOnce": True}}]}}


def without_dead_letters(sensor: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``sensor`` with no dlqTrigger: it then needs no Kafka, enough to subscribe."""
    out = copy.deepcopy(dict(sensor))
    for trigger in out["spec"]["triggers"]:
        trigger.pop("dlqTrigger", None)
    return out


def committed(kind: str, name: str, root: pathlib.Path = REPO) -> dict[str, Any]:
    """The committed ``argo-events/<kind>/<name>.yaml`` (kind: ``sensors`` or ``event-sources``)."""
    return yaml.safe_load((root / "argo-events" / kind / f"{name}.yaml").read_text(encoding="utf-8"))


def calendar_eventsource(name: str, intervals: Mapping[str, str]) -> dict[str, Any]:
    """A calendar EventSource with one event per ``intervals`` entry (event name -> Go duration)."""
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "EventSource",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"eventBusName": "default",
                     "calendar": {event: {"interval": interval} for event, interval in intervals.items()}}}


def retarget_sensor(sensor: Mapping[str, Any], *, name: str, event_source: str, event_name: str,
                    function_path: str, dlq_topic: str | None = None) -> dict[str, Any]:
    """A copy of a committed Sensor cut to its first dependency (lane 0), renamed ``name``, reading
    ``(event_source, event_name)``, its HTTP triggers calling ``http://<gateway>/<function_path>``
    and its Kafka dlqTriggers writing to ``dlq_topic``. Payloads, filters, retries, policies and
    dead-letter fields stay as committed; the local runner's batch annotations go, so both
    runners call once per event."""
    out = copy.deepcopy(dict(sensor))
    out["metadata"]["name"] = name
    annotations = out["metadata"].get("annotations") or {}
    for key in BATCH_ANNOTATIONS:
        annotations.pop(key, None)
    # A committed step Sensor has one dependency and trigger per lane of its input
    # (etlkit/workflow/names.py, lane_event); a scenario's EventSource has one event: keep lane 0.
    dependency = out["spec"]["dependencies"][0]
    out["spec"]["dependencies"] = [dependency]
    out["spec"]["triggers"] = [t for t in out["spec"]["triggers"]
                               if t["template"].get("conditions", dependency["name"]) == dependency["name"]]
    for trigger in out["spec"]["triggers"]:
        trigger["template"].pop("conditions", None)
    dependency["eventSourceName"], dependency["eventName"] = event_source, event_name
    for trigger in out["spec"]["triggers"]:
        trigger["template"]["http"]["url"] = f"http://{CLUSTER_GATEWAY}/{function_path.lstrip('/')}"
        dlq = (trigger.get("dlqTrigger") or {}).get("template", {}).get("kafka")
        if dlq is not None:
            if dlq_topic is None:
                raise ValueError(f"{sensor['metadata']['name']}: has a Kafka dlqTrigger, no dlq_topic given")
            dlq["topic"] = dlq_topic
    return out


def sink_workflow(name: str, partitions: int = 1) -> Workflow:
    """:func:`sink_workflow_text` parsed."""
    return parse_workflow(sink_workflow_text(name, partitions))


def sink_workflow_text(name: str, partitions: int = 1) -> str:
    """The smallest workflow the renderer takes: an http source writing ``<name>-in`` (``partitions``
    partitions), no step, and the sink loading it into table ``<name>`` (hyphens as underscores)
    keyed by the record key, ``<name>-dlq`` its dead-letter topic. A scenario renders it
    (:func:`rendered`) to get the EventSource and the Sensor production would run for such a topic."""
    return yaml.safe_dump({
        "name": name,
        "sources": [{"name": f"{name}-api", "kind": "http", "topic": f"{name}-in", "key": "id"}],
        "sink": {"table": name.replace("-", "_"), "key": "id", "url": "env:WAREHOUSE_URL"},
        "topics": {f"{name}-in": {"partitions": partitions}, f"{name}-dlq": {"partitions": 1}},
        "dead_letter": f"{name}-dlq"}, sort_keys=False)


def rendered(workflow: Workflow, version: int = 1) -> dict[str, dict[str, Any]]:
    """What :func:`etlkit.workflow.render.render_workflow` writes for ``workflow``: each Argo
    Events object by its ``metadata.name`` (the EventSource of a topic is named after it, a step's
    Sensor ``<workflow>-<step>``: etlkit/workflow/names.py)."""
    out = {}
    for f in render_workflow(workflow, version):
        doc = yaml.safe_load(f.text)
        if doc.get("kind") in ("EventSource", "Sensor"):
            out[doc["metadata"]["name"]] = doc
    return out


def calling(sensor: Mapping[str, Any], function_path: str, *, dlq_url: str | None = None) -> dict[str, Any]:
    """A copy of a rendered Sensor, every lane's HTTP trigger calling ``http://<gateway>/<function_path>``
    (its payload, retries, policy and dlqTrigger as rendered; ``dlq_url``: the dlqTriggers' Kafka)."""
    out = copy.deepcopy(dict(sensor))
    for trigger in out["spec"]["triggers"]:
        trigger["template"]["http"]["url"] = f"http://{CLUSTER_GATEWAY}/{function_path.lstrip('/')}"
        dlq = (trigger.get("dlqTrigger") or {}).get("template", {}).get("kafka")
        if dlq is not None and dlq_url is not None:
            dlq["url"] = dlq_url
    return out


def eventbus_with_stream_config(eventbus: Mapping[str, Any], stream_config: str) -> dict[str, Any]:
    """``eventbus`` with the keys of ``stream_config`` (YAML text) set over its own
    ``spec.jetstream.streamConfig``, as a user editing that manifest would: the other keys stay
    (the controller then merges the whole over its default)."""
    out = copy.deepcopy(dict(eventbus))
    jetstream = out["spec"]["jetstream"]
    settings = {**(yaml.safe_load(jetstream.get("streamConfig") or "") or {}), **yaml.safe_load(stream_config)}
    jetstream["streamConfig"] = yaml.safe_dump(settings, sort_keys=False)
    return out


class ArgoPods:
    """Real Argo Events processes started one at a time on ``network`` against ``bus``."""

    def __init__(self, network: PodNetwork, bus: NatsEventBus, eventbus: Mapping[str, Any],
                 addresses: Mapping[str, str], run_dir: pathlib.Path):
        self.network, self.bus, self.eventbus = network, bus, eventbus
        self.addresses = dict(addresses)
        self.run_dir = pathlib.Path(run_dir)
        self.processes: list[ArgoProcess] = []

    def start(self, document: Mapping[str, Any]) -> ArgoProcess:
        """The process of one EventSource or Sensor in a new pod (its addresses localised)."""
        body = localise([Document(f"{document['metadata']['name']}.yaml", document)], self.addresses)[0].body
        pod = self.network.add_pod(pod_name(body, next(_serial)))
        proc = ArgoProcess(body, pod, pod_env(body, bus_config(self.eventbus, self.bus.url), pod.name),
                           self.run_dir / "logs" / "argo" / f"{pod.name}.log",
                           self.run_dir / "argo" / "pods" / pod.name).start()
        self.processes.append(proc)
        return proc

    def start_sensor(self, document: Mapping[str, Any], timeout: float = 60.0) -> ArgoProcess:
        """A Sensor, returned once its durable consumers exist on the stream."""
        proc = self.start(document)
        self.bus.wait_consumers(sensor_durables(document), timeout, alive=proc.alive)
        return proc

    def deploy(self, documents: list[Mapping[str, Any]], timeout: float = 60.0) -> list[ArgoProcess]:
        """``documents`` started as every deployment of ours applies them (Sensors, and once their
        consumers exist, EventSources: :func:`~.runner.start_in_apply_order`)."""
        def subscribed(sensors, procs) -> None:
            names = set().union(*(sensor_durables(s) for s in sensors))
            self.bus.wait_consumers(names, timeout, alive=lambda: all(p.alive() for p in procs))
        return start_in_apply_order(documents, lambda d: d["kind"], self.start, subscribed)

    def stop(self, proc: ArgoProcess) -> None:
        proc.stop()
        self.network.remove_pod(proc.pod.name)
        self.processes.remove(proc)

    def kill(self, proc: ArgoProcess) -> None:
        """kill -9: nothing acknowledged, committed or closed after it; the pod goes too."""
        proc.kill()
        self.network.remove_pod(proc.pod.name)
        self.processes.remove(proc)

    def stop_all(self) -> None:
        for kind in ("EventSource", "Sensor"):
            for proc in [p for p in self.processes if p.kind == kind]:
                self.stop(proc)

    def consumer(self, sensor: Mapping[str, Any]):
        """The state of the Sensor's one durable consumer (:class:`etlkit.controller.eventbus.ConsumerState`)."""
        (name,) = sensor_durables(sensor)
        return consumers(self.bus.jsz())[name]

    def stream(self) -> StreamState:
        return stream_state(self.bus.jsz())


def metrics(proc: ArgoProcess) -> dict[tuple[str, tuple], float]:
    """The process's Prometheus metrics (``:7777/metrics`` in its pod)."""
    with urllib.request.urlopen(proc.metrics_url, timeout=5) as resp:
        return parse_prometheus(resp.read().decode())


def metric_total(samples: Mapping[tuple[str, tuple], float], metric: str, **labels: str) -> int:
    """The sum of ``metric`` over the samples carrying every given label value."""
    return int(sum(v for (name, have), v in samples.items()
                   if name == metric and all(dict(have).get(k) == want for k, want in labels.items())))


def trigger_metric(samples: Mapping[tuple[str, tuple], float], metric: str, trigger: str) -> int:
    return metric_total(samples, metric, trigger_name=trigger)


@dataclass(frozen=True)
class Call:
    """One call the probe function got: when it came and went, what it answered, the body text."""
    call: str
    started: float
    ended: float | None
    status: int | None
    body: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)["event"]


def calls(record_file: pathlib.Path) -> list[Call]:
    """The probe's calls in arrival order (see tests/devstack/realargo/functions/probe)."""
    if not record_file.exists():
        return []
    began: dict[str, dict] = {}
    ended: dict[str, dict] = {}
    for line in record_file.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            (began if entry["phase"] == "in" else ended)[entry["call"]] = entry
    out = [Call(c, e["t"], ended.get(c, {}).get("t"), ended.get(c, {}).get("status"), e["body"])
           for c, e in began.items()]
    return sorted(out, key=lambda c: c.started)


def max_in_flight(made: list[Call]) -> int:
    """The most calls that were in flight at one moment (a call without an end counts to the end)."""
    edges = sorted([(c.started, 1) for c in made] + [(c.ended if c.ended is not None else float("inf"), -1)
                                                      for c in made], key=lambda e: (e[0], e[1]))
    most = now = 0
    for _t, step in edges:
        now += step
        most = max(most, now)
    return most


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll ``predicate`` until it returns something true (returned); ``TimeoutError`` at the
    deadline, never ``AssertionError``: a test marked ``xfail(raises=AssertionError)`` then fails
    on a stack that did not get that far instead of passing as the defect it expects."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
