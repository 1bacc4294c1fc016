"""The documents a workflow run applies, as plain data: parsed, stamped and compared.

A run of workflow version N is its rendered manifests (:func:`etlkit.workflow.render.render_workflow`)
of three kinds: Strimzi ``KafkaTopic`` (the topics, created first and never removed by a stop:
they hold the data and the consumer groups' offsets), Argo Events ``Sensor`` and ``EventSource``
(the wiring, which a stop removes), applied in that order (:data:`APPLY_ORDER`). Every document carries the label ``faas-etl.dev/workflow``;
a start stamps two annotations on each EventSource and Sensor, so whatever holds them (a folder, the
Kubernetes API) also tells which version runs and since when.

Pure: parsing YAML text is the only work done here.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import yaml

WORKFLOW_LABEL = "faas-etl.dev/workflow"
PART_OF_LABEL = "app.kubernetes.io/part-of"
VERSION_ANNOTATION = "faas-etl.dev/workflow-version"  # the rendered Sensors carry it already
STARTED_ANNOTATION = "faas-etl.dev/started-at"  # when this version was started (ISO 8601, UTC)

# kind -> (API group, version, plural): where the Kubernetes API serves each kind's collection.
KINDS: Mapping[str, tuple[str, str, str]] = {
    "KafkaTopic": ("kafka.strimzi.io", "v1", "kafkatopics"),  # Strimzi 0.49+: devstack/manifests/versions.py
    "EventSource": ("argoproj.io", "v1alpha1", "eventsources"),
    "Sensor": ("argoproj.io", "v1alpha1", "sensors"),
}
# The order a run's kinds are applied in. A topic exists before anything reads it. A Sensor comes
# before the EventSources it reads from: its JetStream consumer is created with DeliverNew
# (argo-events v1.9.11 pkg/eventbus/jetstream/sensor/trigger_conn.go, Subscribe), so an event
# published before it exists is never delivered to it, while the Kafka EventSource has marked that
# record done (pkg/eventsources/sources/kafka/start.go); with the EventBus's Interest retention
# such an event is not even kept. A removal goes the other way: EventSources stop publishing
# before their Sensors go. tests/devstack/realargo/test_defects.py shows both on the real binaries.
APPLY_ORDER = ("KafkaTopic", "Sensor", "EventSource")
WIRING = ("EventSource", "Sensor")  # what a stop removes; topics stay


class DocumentError(ValueError):
    """A rendered document is not one a run can apply; the message names it and the rule."""


@dataclass(frozen=True)
class RunDocument:
    """One resource of a run. ``body`` is the whole manifest (never mutated: copy to change)."""

    kind: str
    name: str
    namespace: str
    body: Mapping[str, Any]

    @property
    def ref(self) -> str:
        """``Kind/name``: how errors and answers name the document."""
        return f"{self.kind}/{self.name}"

    @property
    def group(self) -> str:
        return KINDS[self.kind][0]

    @property
    def version(self) -> str:
        return KINDS[self.kind][1]

    @property
    def plural(self) -> str:
        return KINDS[self.kind][2]

    @property
    def labels(self) -> Mapping[str, str]:
        return (self.body.get("metadata") or {}).get("labels") or {}

    @property
    def annotations(self) -> Mapping[str, str]:
        return (self.body.get("metadata") or {}).get("annotations") or {}

    @property
    def workflow(self) -> str | None:
        return self.labels.get(WORKFLOW_LABEL)

    @property
    def operation(self) -> str | None:
        return self.labels.get("faas-etl.dev/operation")

    def content(self) -> dict[str, Any]:
        """What a change is judged on: labels, annotations and spec (not server-side fields)."""
        meta = self.body.get("metadata") or {}
        return {"labels": dict(meta.get("labels") or {}),
                "annotations": dict(meta.get("annotations") or {}),
                "spec": self.body.get("spec")}


def document_of(body: Mapping[str, Any], where: str) -> RunDocument:
    """A manifest as a :class:`RunDocument`; :class:`DocumentError` if a run cannot apply it."""
    kind = body.get("kind")
    if kind not in KINDS:
        raise DocumentError(f"{where}: kind: must be one of {', '.join(APPLY_ORDER)}, got {kind!r}")
    group, version, _ = KINDS[kind]
    if body.get("apiVersion") != f"{group}/{version}":
        raise DocumentError(f"{where}: apiVersion: must be {group}/{version} for a {kind}")
    meta = body.get("metadata") or {}
    name, namespace = meta.get("name"), meta.get("namespace")
    if not isinstance(name, str) or not name or not isinstance(namespace, str) or not namespace:
        raise DocumentError(f"{where}: metadata: name and namespace are required")
    return RunDocument(kind, name, namespace, body)


def parse_documents(files: Iterable[tuple[str, str]]) -> tuple[RunDocument, ...]:
    """The run's documents from ``(path, YAML text)`` pairs, in apply order (kind, then name).

    Anything that is not a KafkaTopic, EventSource or Sensor (an EventBus) is left out: the
    namespace's EventBus is shared by every workflow and installed once, not per run.
    """
    docs = []
    for path, text in files:
        for body in yaml.safe_load_all(text):
            if isinstance(body, dict) and body.get("kind") in KINDS:
                docs.append(document_of(body, path))
    seen: dict[str, RunDocument] = {}
    for doc in docs:
        if doc.ref in seen:
            raise DocumentError(f"{doc.ref}: defined twice")
        seen[doc.ref] = doc
    return ordered(docs)


def ordered(docs: Iterable[RunDocument]) -> tuple[RunDocument, ...]:
    """Documents in apply order (:data:`APPLY_ORDER`): topics, sensors, event sources; by name
    within a kind."""
    return tuple(sorted(docs, key=lambda d: (APPLY_ORDER.index(d.kind), d.name)))


def stamp(docs: Sequence[RunDocument], version: int, started_at: str) -> tuple[RunDocument, ...]:
    """Copies of ``docs`` whose wiring is annotated with the workflow version and the time it was
    started. Topics are left as rendered: a new version with the same topics changes none."""
    out = []
    for doc in docs:
        if doc.kind not in WIRING:
            out.append(doc)
            continue
        body = copy.deepcopy(dict(doc.body))
        meta = body.setdefault("metadata", {})
        meta["annotations"] = {**(meta.get("annotations") or {}), VERSION_ANNOTATION: str(version),
                               STARTED_ANNOTATION: started_at}
        out.append(RunDocument(doc.kind, doc.name, doc.namespace, body))
    return tuple(out)


def wiring(docs: Iterable[RunDocument]) -> tuple[RunDocument, ...]:
    """The EventSources and Sensors: what runs, and what a stop removes."""
    return tuple(d for d in docs if d.kind in WIRING)


def applied_version(docs: Iterable[RunDocument]) -> int | None:
    """The version the documents were stamped with; None if unstamped or mixed (a half move)."""
    versions = {d.annotations.get(VERSION_ANNOTATION) for d in wiring(docs)}
    if len(versions) != 1:
        return None
    (text,) = versions
    return int(text) if isinstance(text, str) and text.isdigit() else None


def started_at(docs: Iterable[RunDocument]) -> str | None:
    """The latest start stamp among the documents (they share one unless a move failed)."""
    stamps = [d.annotations.get(STARTED_ANNOTATION) for d in wiring(docs)]
    return max((s for s in stamps if s), default=None)


def to_yaml(docs: Sequence[RunDocument]) -> str:
    """One multi-document YAML text (JSON-compatible values, keys in manifest order)."""
    return yaml.safe_dump_all([json.loads(json.dumps(d.body)) for d in docs], sort_keys=False)
