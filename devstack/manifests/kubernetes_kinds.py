"""Built-in Kubernetes kinds: ``kubernetes-validate --strict`` plus a few rules of ours.

kubernetes-validate checks a document against the OpenAPI schema of one Kubernetes release with
``additionalProperties: false`` everywhere (strict), so unknown fields are caught. It stops at the
first error of a document. We pin the release the manifests must work on.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import kubernetes_validate
import kubernetes_validate.utils as kv_utils

from .documents import Document
from .findings import UNKNOWN_FIELD, Finding, PathPart, at

KUBERNETES_VERSION = "1.33"
_UNEXPECTED = re.compile(r"\('(?P<name>[^']+)'(?:, '[^']+')* (?:was|were) unexpected\)")

# Kinds that live outside namespaces; every other built-in kind must name its namespace.
CLUSTER_SCOPED_KINDS = frozenset({
    "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding",
    "CSIDriver", "CSINode", "CustomResourceDefinition", "IngressClass",
    "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume", "PriorityClass",
    "RuntimeClass", "StorageClass", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration", "VolumeAttachment"})
WORKLOAD_POD_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def schema_findings(doc: Document, version: str = KUBERNETES_VERSION) -> Iterator[Finding]:
    """kubernetes-validate's verdict on one document, as findings."""
    try:
        kubernetes_validate.validate(doc.body, version, strict=True)
    except kv_utils.ValidationError as error:
        parts: list[PathPart] = list(error.path)
        unexpected = _UNEXPECTED.search(error.message) if error.validator == "additionalProperties" else None
        if unexpected:
            parts.append(unexpected["name"])
            rule = f"{UNKNOWN_FIELD} (not in the Kubernetes {version} schema)"
        else:
            rule = f"Kubernetes {version} schema: {error.message}"
        yield at(doc.file, doc.index, parts, rule)
    except kv_utils.SchemaNotFoundError:
        yield at(doc.file, doc.index, ["kind"],
                 f"{doc.api_version} {doc.kind} is not a kind of Kubernetes {version}")


def hygiene_findings(doc: Document) -> Iterator[Finding]:
    """Our rules for built-in kinds: names, namespaces, no committed secrets, hardened pods."""
    if not doc.name:
        yield at(doc.file, doc.index, ["metadata", "name"], "is required")
    if doc.kind not in CLUSTER_SCOPED_KINDS and not doc.namespace:
        yield at(doc.file, doc.index, ["metadata", "namespace"],
                 "is required: a namespaced resource names its namespace so that applying the "
                 "folder cannot land it in the current context's namespace")
    if doc.kind == "Secret" and ("data" in doc.body or "stringData" in doc.body):
        key = "data" if "data" in doc.body else "stringData"
        yield at(doc.file, doc.index, [key],
                 "secret values are never committed: create the Secret out of band "
                 "(kubectl create secret) and reference it")
    template_path = WORKLOAD_POD_TEMPLATES.get(doc.kind)
    if template_path is not None:
        for parts, rule in pod_problems(doc.body, list(template_path)):
            yield at(doc.file, doc.index, parts, rule)


def _get(body: Any, parts: list[PathPart]) -> Any:
    for part in parts:
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def pod_problems(body: Any, template: list[PathPart]) -> Iterator[tuple[list[PathPart], str]]:
    """Pods run as non-root, without privilege escalation, with memory requests and limits."""
    spec_path = [*template, "spec"]
    spec = _get(body, spec_path)
    if not isinstance(spec, dict):
        return
    pod_non_root = _get(spec, ["securityContext", "runAsNonRoot"]) is True
    for group in ("initContainers", "containers"):
        containers = spec.get(group)
        for position, container in enumerate(containers if isinstance(containers, list) else []):
            if not isinstance(container, dict):
                continue
            here: list[PathPart] = [*spec_path, group, position]
            context = container.get("securityContext")
            context = context if isinstance(context, dict) else {}
            if not (pod_non_root or context.get("runAsNonRoot") is True):
                yield ([*here, "securityContext", "runAsNonRoot"],
                       "must be true (here or in the pod's securityContext)")
            if context.get("allowPrivilegeEscalation") is not False:
                yield [*here, "securityContext", "allowPrivilegeEscalation"], "must be false"
            for kind in ("requests", "limits"):
                if _get(container, ["resources", kind, "memory"]) is None:
                    yield ([*here, "resources", kind, "memory"],
                           "must be set: the scheduler and the OOM killer need it")
