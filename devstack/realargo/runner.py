"""The committed EventSources and Sensors of a folder, run as real Argo Events processes.

:class:`RealArgoRunner` has what :class:`devstack.pipeline.run.WorkflowRun` uses of the local
runner (:class:`devstack.argo.runner.Runner`): ``start()``, ``stop()``, ``subscriptions``,
``status()``, ``counters``; and ``held_events()``, the events the EventBus holds that a Sensor has
not finished, which a drained run must see at zero besides the Kafka lag: the Kafka EventSource
marks its offset as soon as the bus accepted the event (``pkg/eventsources/sources/kafka/
start.go``), so a caught-up consumer group says nothing about the Sensors behind it.

Start order: :data:`etlkit.runs.documents.APPLY_ORDER`, the one every way we deploy follows.
A Sensor's JetStream subscription is a durable pull consumer created with ``DeliverNew``
(``pkg/eventbus/jetstream/sensor/trigger_conn.go``, ``Subscribe``): events published before it
exists are never delivered to it. So the Sensors start first, and the EventSources only once
every Sensor's durable consumer (``group-<fnv32a(sensor-trigger-dep)>``) exists in the stream
(:func:`start_in_apply_order`). ``kubectl apply -R -f argo-events/`` walks the folder
alphabetically (``event-sources`` before ``eventbus`` and ``sensors``): the EventSources,
reading their topics from the oldest record, would publish (and commit in Kafka) everything
already there before any Sensor subscribed, and those events would be lost for good.

Each process runs in a pod of its own (:mod:`.podnet`) with the environment the controller gives
it (:mod:`.process`), its addresses localised (:mod:`.localise`); logs go to
``<run_dir>/logs/argo/<pod>.log``.
"""
from __future__ import annotations

import dataclasses
import logging
import pathlib
import time
import urllib.request
from typing import Any, Callable, Collection, Mapping, Sequence, TypeVar

from etlkit.controller.measure import parse_prometheus
from etlkit.runs.documents import APPLY_ORDER

from ..argo.manifests import KafkaSource, Subscription, load_manifests, plan_subscriptions
from ..pipeline.selection import Document, read_documents
from .eventbus import NatsEventBus, bus_config, consumers
from .localise import CLUSTER_KAFKA, localise
from .podnet import PodNetwork
from .process import ArgoProcess, pod_env, pod_name

log = logging.getLogger(__name__)
SENSOR_READY_S = 60.0


GROUP_RELEASE_S = 30.0
T = TypeVar("T")  # a document, as the caller holds it
P = TypeVar("P")  # what starting one gives


class RealArgoError(RuntimeError):
    pass


def wait_groups_released(bootstrap: str, groups: Collection[str], timeout: float) -> list[str]:
    """Wait until each group has no member; the groups that still had one at the deadline.

    The probe writes each group's committed offsets back unchanged: the broker accepts an
    offset commit without a member id only from an empty group. (Tansu lists no members in
    ``describe_consumer_groups``, so that cannot tell.) A group that committed nothing is taken
    as released.
    """
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    pending = set(groups)
    while pending:
        for group in sorted(pending):
            try:
                listed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
                committed = [tp for tp in listed[group].result(5).topic_partitions if tp.offset >= 0]
            except Exception as exc:  # the broker is gone: nothing to wait for
                log.warning("consumer group %s: offsets not readable (%s)", group, exc)
                return sorted(pending)
            if not committed:
                pending.discard(group)
                continue
            same = ConsumerGroupTopicPartitions(group, [TopicPartition(tp.topic, tp.partition, tp.offset)
                                                        for tp in committed])
            try:
                result = admin.alter_consumer_group_offsets([same])[group].result(5)
            except Exception:  # KafkaException: the group still has a member (or is rebalancing)
                continue
            if all(tp.error is None for tp in result.topic_partitions):
                pending.discard(group)
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return sorted(pending)


def fnv32a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def durable_name(sensor: str, trigger: str, dependency: str) -> str:
    """The JetStream durable consumer of one (trigger, dependency) of a Sensor
    (``getDurableName`` in ``pkg/eventbus/jetstream/sensor/sensor_jetstream.go``)."""
    return f"group-{fnv32a(f'{sensor}-{trigger}-{dependency}')}"


def sensor_durables(sensor: Mapping[str, Any]) -> set[str]:
    """Every durable consumer a Sensor creates when it subscribes: one per trigger and per
    dependency the trigger waits on (all of them when the trigger has no ``conditions``)."""
    spec = sensor.get("spec") or {}
    deps = [d["name"] for d in spec.get("dependencies") or []]
    name = sensor["metadata"]["name"]
    out = set()
    for trigger in spec.get("triggers") or []:
        template = trigger.get("template") or {}
        conditions = template.get("conditions")
        used = [d for d in deps if d in conditions] if conditions else deps
        out |= {durable_name(name, template["name"], dep) for dep in used}
    return out


def dlq_trigger_names(sensor: Mapping[str, Any]) -> set[str]:
    return {((t.get("dlqTrigger") or {}).get("template") or {}).get("name")
            for t in (sensor.get("spec") or {}).get("triggers") or [] if t.get("dlqTrigger")}


def sensor_counters(metrics: Mapping[tuple[str, tuple], float], sensor: str, dlq_names: set[str]) -> dict[str, int]:
    """A Sensor's metrics (``pkg/metrics/metrics.go``) as counters: triggered (successful actions
    of its triggers), failed (failed attempts), retries_failed (events whose every attempt failed)
    and dead_lettered (successful actions of its dlqTriggers)."""
    out = {"triggered": 0, "failed": 0, "retries_failed": 0, "dead_lettered": 0}
    names = {"argo_events_action_triggered_total": "triggered", "argo_events_action_failed_total": "failed",
             "argo_events_action_retries_failed_total": "retries_failed"}
    for (metric, labels), value in metrics.items():
        labels = dict(labels)
        if metric not in names or labels.get("sensor_name") != sensor:
            continue
        key = names[metric]
        if key == "triggered" and labels.get("trigger_name") in dlq_names:
            key = "dead_lettered"
        elif labels.get("trigger_name") in dlq_names:
            continue
        out[key] += int(value)
    return out


def start_in_apply_order(documents: Sequence[T], kind_of: Callable[[T], str], start: Callable[[T], P],
                         wait_subscribed: Callable[[list[T], list[P]], None]) -> list[P]:
    """``start`` each EventSource and Sensor kind by kind in :data:`APPLY_ORDER`; once the Sensors
    are started, ``wait_subscribed(sensors, their processes)`` before the next kind (their durable
    consumers must exist before anything is published). The started processes, in that order."""
    started: list[P] = []
    for kind in APPLY_ORDER:
        batch = [d for d in documents if kind_of(d) == kind]
        procs = [start(d) for d in batch]
        if kind == "Sensor" and batch:
            wait_subscribed(batch, procs)
        started += procs
    return started


class RealArgoRunner:
    """Every Sensor (or those named in ``sensors``) and EventSource of ``manifest_dir``."""

    def __init__(self, manifest_dir: str | pathlib.Path, *, network: PodNetwork, bus: NatsEventBus,
                 eventbus: Mapping[str, Any], addresses: Mapping[str, str], run_dir: str | pathlib.Path,
                 sensors: Collection[str] | None = None, release_s: float = GROUP_RELEASE_S):
        self.manifest_dir = pathlib.Path(manifest_dir)
        self.network, self.bus, self.eventbus = network, bus, eventbus
        self.addresses = dict(addresses)
        self.kafka_bootstrap = self.addresses.get(CLUSTER_KAFKA, "")
        # How long stop() waits for the EventSources' groups to lose their dead members (0: not at
        # all; Tansu never expires them, Apache Kafka after the session timeout).
        self.release_s = release_s
        self.run_dir = pathlib.Path(run_dir)
        self.sensors_wanted = None if sensors is None else frozenset(sensors)
        self.subscriptions: tuple[Subscription, ...] = ()
        self.processes: dict[str, ArgoProcess] = {}  # pod name -> process
        self.documents: list[Document] = []
        self._durables: dict[str, set[str]] = {}  # sensor -> its consumers
        self._acked_at_start: dict[str, int] = {}
        self._serial = 0
        self.started_at: float | None = None

    # -- setup ----------------------------------------------------------------------------------
    def _plan(self) -> None:
        docs = localise(read_documents(self.manifest_dir), self.addresses)
        sensors = [d for d in docs if d.kind == "Sensor"
                   and (self.sensors_wanted is None or d.name in self.sensors_wanted)]
        if self.sensors_wanted is not None:
            unknown = self.sensors_wanted - {d.name for d in sensors}
            if unknown:
                raise RealArgoError(f"{self.manifest_dir}: no Sensor named {', '.join(sorted(unknown))}")
        self.documents = [d for d in docs if d.kind == "EventSource"] + sensors
        chosen = {d.name for d in sensors}
        # The subscriptions WorkflowRun measures lag on: with the real processes the Kafka group is
        # the EventSource's own (one per EventSource, shared by every Sensor behind it).
        self.subscriptions = tuple(
            dataclasses.replace(s, group=s.source.group if isinstance(s.source, KafkaSource) else None)
            for s in plan_subscriptions(load_manifests(self.manifest_dir)) if s.sensor.name in chosen)
        self._durables = {d.name: sensor_durables(d.body) for d in sensors}

    def _spawn(self, doc: Document, bus: Mapping[str, Any]) -> ArgoProcess:
        self._serial += 1
        pod = self.network.add_pod(pod_name(doc.body, self._serial))
        proc = ArgoProcess(doc.body, pod, pod_env(doc.body, bus, pod.name),
                           self.run_dir / "logs" / "argo" / f"{pod.name}.log",
                           self.run_dir / "argo" / "pods" / pod.name).start()
        self.processes[pod.name] = proc
        log.info("started %s %s in pod %s (%s), pid %s", doc.kind, doc.name, pod.name, pod.address, proc.pid)
        return proc

    def start(self) -> "RealArgoRunner":
        """Sensors first, and once their durable consumers exist, the EventSources."""
        self._plan()
        bus = bus_config(self.eventbus, self.bus.url)

        def subscribed(sensors: list[Document], procs: list[ArgoProcess]) -> None:
            wanted = set().union(*(self._durables[s.name] for s in sensors))
            self.bus.wait_consumers(wanted, SENSOR_READY_S, alive=lambda: all(p.alive() for p in procs))
            self._acked_at_start = self._acked()

        try:
            start_in_apply_order(self.documents, lambda d: d.kind, lambda d: self._spawn(d, bus), subscribed)
        except BaseException:
            self.stop()
            raise
        self.started_at = time.monotonic()
        return self

    # -- run ------------------------------------------------------------------------------------
    def process(self, kind: str, name: str) -> ArgoProcess:
        for proc in self.processes.values():
            if proc.kind == kind and proc.name == name:
                return proc
        raise RealArgoError(f"no {kind} {name} running")

    def kill(self, kind: str, name: str) -> None:
        """kill -9 the process of one Sensor or EventSource (a fault test's crash)."""
        self.process(kind, name).kill()

    def restart(self, kind: str, name: str) -> ArgoProcess:
        """A new pod and process for one object, as a Deployment replaces a dead pod."""
        old = self.process(kind, name)
        old.stop()
        self.processes.pop(old.pod.name)
        self.network.remove_pod(old.pod.name)
        doc = next(d for d in self.documents if d.kind == kind and d.name == name)
        return self._spawn(doc, bus_config(self.eventbus, self.bus.url))

    def held_events(self) -> int:
        """Events in the bus a running Sensor has not acknowledged (pending + ack pending)."""
        names = set().union(*self._durables.values()) if self._durables else set()
        return sum(c.num_pending + c.num_ack_pending for c in consumers(self.bus.jsz()).values()
                   if c.name in names)

    def _acked(self) -> dict[str, int]:
        return {name: c.acked for name, c in consumers(self.bus.jsz()).items()}

    def _events_in(self, acked: Mapping[str, int], sensor: str) -> int:
        return sum(acked.get(n, 0) - self._acked_at_start.get(n, 0) for n in self._durables[sensor])

    def acknowledged(self, sensor: str) -> int:
        """Events ``sensor`` has finished (acknowledged on the bus) since this runner started: one
        read of the bus, none of the Sensor's metrics (a bench polls it)."""
        return self._events_in(self._acked(), sensor)

    @property
    def counters(self) -> dict[str, dict[str, int]]:
        """Per Sensor, since this runner started: events_in (events its consumers acknowledged)
        and its process's metrics (:func:`sensor_counters`)."""
        acked = self._acked()
        out = {}
        for doc in self.documents:
            if doc.kind != "Sensor":
                continue
            events_in = self._events_in(acked, doc.name)
            metrics: dict = {}
            try:
                proc = self.process("Sensor", doc.name)
                with urllib.request.urlopen(proc.metrics_url, timeout=5) as resp:
                    metrics = parse_prometheus(resp.read().decode())
            except (OSError, RealArgoError):
                pass
            out[doc.name] = {"events_in": events_in, **sensor_counters(metrics, doc.name, dlq_trigger_names(doc.body))}
        return out

    def status(self) -> dict:
        alive = {(p.kind, p.name): p.alive() for p in self.processes.values()}
        return {
            "manifests": str(self.manifest_dir),
            "eventbus": self.bus.url,
            "processes": [{"kind": p.kind, "name": p.name, "pod": p.pod.name, "address": p.pod.address,
                           "pid": p.pid, "alive": p.alive(), "log": str(p.log_path)}
                          for p in self.processes.values()],
            "subscriptions": [
                {"sensor": s.sensor.name, "dependency": s.dependency.name,
                 "event_source": s.source.event_source, "event": s.source.event_name, "group": s.group,
                 # the chain of this subscription runs: its Sensor and the EventSource feeding it
                 "alive": alive.get(("Sensor", s.sensor.name), False)
                 and alive.get(("EventSource", s.source.event_source), False)}
                for s in self.subscriptions],
        }

    # -- stop -----------------------------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> None:
        """EventSources first (nothing new is published), then the Sensors; pods removed; then
        wait (up to ``release_s``) until the EventSources' consumer groups have no member left.

        The wait is what a stopped runner promises (the local runner's consumers leave their
        groups on close): a real EventSource exits on SIGTERM without leaving its group. Its
        leader elector returns on the signal and the process ends while the Kafka listener is still
        closing (``pkg/shared/leaderelection/leaderelection.go`` ``RunOrDie`` returns on
        ``ctx.Done``; ``pkg/eventsources/sources/kafka/start.go`` calls ``client.Close()`` only
        after its goroutine ends), so the broker keeps the dead member until its session times
        out (sarama's default: 10 s) and refuses an offset reset meanwhile (UNKNOWN_MEMBER_ID).
        Tansu 0.6.0 never expires such a member (measured: still there after 40 s), so on Tansu
        a group a real EventSource held cannot be reset at all: give ``release_s=0`` there.
        """
        if not self.processes:
            return
        by_kind = {"EventSource": [], "Sensor": []}
        for proc in self.processes.values():
            by_kind[proc.kind].append(proc)
        for kind in ("EventSource", "Sensor"):  # SIGTERM to all of a kind at once, then wait for each
            for proc in by_kind[kind]:
                if proc.alive():
                    proc.proc.terminate()
            for proc in by_kind[kind]:
                proc.stop(timeout)
        for proc in self.processes.values():
            self.network.remove_pod(proc.pod.name)
        self.processes.clear()
        groups = {s.group for s in self.subscriptions if s.group}
        if groups and self.release_s > 0 and self.kafka_bootstrap:
            left = wait_groups_released(self.kafka_bootstrap, groups, self.release_s)
            if left:
                log.warning("consumer groups still hold a member after %.0fs: %s", self.release_s, ", ".join(left))

    def __enter__(self) -> "RealArgoRunner":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
