"""Runs on Kubernetes: Argo Events and Strimzi custom objects through the official client.

Through ``CustomObjectsApi``, with exactly the verbs ``k8s/rbac`` grants the workflow-manager's
ServiceAccount (tests/etlkit/runs/test_kubernetes_backend.py checks the two agree, against kmock,
an emulated API server speaking the real REST API over HTTP: no cluster runs on the development
machines):

===============================  =======================  ====================================
resource                         verbs                    what for
===============================  =======================  ====================================
argoproj.io sensors              list, create, update,    the run's Sensors (one per operation)
                                 delete
argoproj.io eventsources         list, create, update,    its EventSources (one per consumed
                                 delete                   topic, and its calendar)
kafka.strimzi.io kafkatopics     list, create, update     its topics; never deleted (data)
===============================  =======================  ====================================

A workflow's objects are found by the label ``faas-etl.dev/workflow=<name>``. Applying lists
them once, then creates what is missing, replaces (PUT, with the resourceVersion just listed:
a concurrent change is a conflict, not overwritten) what differs in labels, annotations or
spec, and deletes the workflow's EventSources and Sensors no longer wanted (EventSources first).
It goes kind by kind in :data:`~.documents.APPLY_ORDER`: topics, Sensors, EventSources. It does
not wait for the Sensors' pods to subscribe before creating the EventSources (nothing it may read
says so; k8s/README.md, "Apply order", has the check `make deploy` makes).
A name taken by an object of another workflow is refused by the API (409), which stops the
apply there. The runtime state comes from the objects' ``status.conditions``, which the Argo
Events controller sets (``Deployed``, ``TriggersProvided``, ...).

I/O module. Anything the API refuses or does not answer is an :class:`~.backend.ApplyFailed`
naming the object (or, when listing, the collection).
"""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from ..controller.errors import EdgeError
from .backend import ApplyFailed, AppliedRun, Runtime
from .documents import (KINDS, PART_OF_LABEL, WIRING, WORKFLOW_LABEL, RunDocument, document_of,
                        ordered)

__all__ = ["KubernetesBackend", "cluster_runtime"]

_KEPT_METADATA = ("name", "namespace", "labels", "annotations")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        try:
            message = str(json.loads(exc.body or "{}").get("message", ""))
        except (ValueError, AttributeError):
            message = ""
        return f"HTTP {exc.status} {exc.reason}" + (f": {message}" if message else "")
    return f"{type(exc).__name__}: {exc}"


def _as_document(obj: Mapping[str, Any]) -> RunDocument:
    """An object read from the API as the document that made it (server fields dropped)."""
    meta = obj.get("metadata") or {}
    body = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
            "metadata": {k: meta[k] for k in _KEPT_METADATA if k in meta}, "spec": obj.get("spec")}
    return document_of(body, f"{obj.get('kind')}/{meta.get('name')}")


def cluster_runtime(objects: Sequence[Mapping[str, Any]]) -> Runtime:
    """The run's state from its EventSources' and Sensors' ``status.conditions``.

    Running once every condition of every object is True; failed when one is False (its
    message says why); starting while the controller has not reported on each yet.

    >>> ok = {"kind": "Sensor", "metadata": {"name": "s"},
    ...       "status": {"conditions": [{"type": "Deployed", "status": "True"}]}}
    >>> cluster_runtime([ok]).state, cluster_runtime([{**ok, "status": {}}]).state
    ('running', 'starting')
    """
    waiting = []
    for obj in sorted(objects, key=lambda o: (o.get("kind", ""), (o.get("metadata") or {}).get("name", ""))):
        ref = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        conditions = ((obj.get("status") or {}).get("conditions")) or []
        for condition in conditions:
            if condition.get("status") == "False":
                detail = condition.get("message") or condition.get("reason") or "no reason given"
                return Runtime("failed", f"{ref}: {condition.get('type')} is False ({detail})")
        if not conditions or any(c.get("status") != "True" for c in conditions):
            waiting.append(ref)
    if waiting:
        return Runtime("starting", "waiting for the Argo Events controller to deploy " + ", ".join(waiting))
    return Runtime("running")


class KubernetesBackend:
    """A :class:`~.backend.RunBackend` over the Kubernetes API (see the module)."""

    def __init__(self, api: client.ApiClient, argo_namespace: str = "argo-events",
                 kafka_namespace: str = "kafka", timeout_s: float = 10.0) -> None:
        self.objects = client.CustomObjectsApi(api)
        self.namespaces = {"EventSource": argo_namespace, "Sensor": argo_namespace,
                           "KafkaTopic": kafka_namespace}
        self.timeout_s = timeout_s

    @classmethod
    def in_cluster(cls, argo_namespace: str, kafka_namespace: str, timeout_s: float = 10.0) -> KubernetesBackend:
        """With the pod's ServiceAccount token (what the function has in the cluster)."""
        from kubernetes import config

        try:
            config.load_incluster_config()
        except config.ConfigException as exc:
            raise EdgeError("kubernetes", f"no in-cluster credentials ({exc})") from exc
        return cls(client.ApiClient(), argo_namespace, kafka_namespace, timeout_s)

    @classmethod
    def at(cls, url: str, argo_namespace: str = "argo-events", kafka_namespace: str = "kafka",
           timeout_s: float = 10.0) -> KubernetesBackend:
        """An API server at ``url`` (tests: the emulated one)."""
        return cls(client.ApiClient(client.Configuration(host=url.rstrip("/"))), argo_namespace,
                   kafka_namespace, timeout_s)

    # -- the API, one kind at a time -----------------------------------------------------------
    def _list(self, kind: str, selector: str) -> list[dict[str, Any]]:
        group, version, plural = KINDS[kind]
        try:
            found = self.objects.list_namespaced_custom_object(
                group, version, self.namespaces[kind], plural, label_selector=selector,
                _request_timeout=self.timeout_s)
        except (ApiException, HTTPError) as exc:
            raise ApplyFailed(f"{plural}.{group}", f"not listed ({_reason(exc)})") from exc
        return [{"kind": kind, "apiVersion": f"{group}/{version}", **item} for item in found.get("items") or []]

    def _create(self, doc: RunDocument) -> None:
        self.objects.create_namespaced_custom_object(doc.group, doc.version, doc.namespace, doc.plural,
                                                     dict(doc.body), _request_timeout=self.timeout_s)

    def _replace(self, doc: RunDocument, current: Mapping[str, Any]) -> None:
        body = dict(doc.body)
        body["metadata"] = {**body["metadata"],
                            "resourceVersion": (current.get("metadata") or {}).get("resourceVersion")}
        self.objects.replace_namespaced_custom_object(doc.group, doc.version, doc.namespace, doc.plural,
                                                      doc.name, body, _request_timeout=self.timeout_s)

    def _delete(self, doc: RunDocument) -> None:
        try:
            self.objects.delete_namespaced_custom_object(doc.group, doc.version, doc.namespace,
                                                         doc.plural, doc.name, _request_timeout=self.timeout_s)
        except ApiException as exc:
            if exc.status != 404:  # gone already is what was wanted
                raise

    def _current(self, workflow: str, kinds: Sequence[str]) -> dict[str, dict[str, Any]]:
        selector = f"{WORKFLOW_LABEL}={workflow}"
        return {f"{kind}/{obj['metadata']['name']}": obj for kind in kinds for obj in self._list(kind, selector)}

    # -- RunBackend ----------------------------------------------------------------------------
    def apply(self, workflow: str, documents: Sequence[RunDocument]) -> None:
        for doc in documents:  # refused before anything is written
            if doc.namespace != self.namespaces[doc.kind]:
                raise ApplyFailed(doc.ref, f"metadata.namespace: must be {self.namespaces[doc.kind]!r}, "
                                           f"the namespace this backend manages {doc.kind}s in")
        current = self._current(workflow, ("KafkaTopic", *WIRING))
        for doc in ordered(documents):
            found = current.get(doc.ref)
            try:
                if found is None:
                    self._create(doc)
                elif _as_document(found).content() != doc.content():
                    self._replace(doc, found)
            except (ApiException, HTTPError) as exc:
                verb = "not created" if found is None else "not replaced"
                raise ApplyFailed(doc.ref, f"{verb} ({_reason(exc)})") from exc
        wanted = {d.ref for d in documents}
        stale = [_as_document(obj) for ref, obj in current.items() if ref not in wanted and obj["kind"] in WIRING]
        self._remove(stale)

    def _remove(self, docs: Sequence[RunDocument]) -> None:
        for doc in reversed(ordered(docs)):  # EventSources stop publishing before their Sensors go
            try:
                self._delete(doc)
            except (ApiException, HTTPError) as exc:
                raise ApplyFailed(doc.ref, f"not deleted ({_reason(exc)})") from exc

    def delete(self, workflow: str) -> tuple[str, ...]:
        docs = [_as_document(obj) for obj in self._current(workflow, WIRING).values()]
        self._remove(docs)
        return tuple(sorted(d.ref for d in docs))

    def applied(self, workflow: str | None = None) -> dict[str, AppliedRun]:
        selector = f"{WORKFLOW_LABEL}={workflow}" if workflow else f"{PART_OF_LABEL}=faas-etl"
        by_workflow: dict[str, list[dict[str, Any]]] = {}
        for kind in WIRING:
            for obj in self._list(kind, selector):
                name = ((obj.get("metadata") or {}).get("labels") or {}).get(WORKFLOW_LABEL)
                if name:
                    by_workflow.setdefault(name, []).append(obj)
        return {name: AppliedRun(name, ordered(_as_document(o) for o in objs), cluster_runtime(objs))
                for name, objs in sorted(by_workflow.items())}

