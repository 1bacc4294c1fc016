"""Built-in Kubernetes kinds: the strict schemas kubernetes-validate bundles, plus rules of ours.

kubernetes-validate ships the OpenAPI schema of each Kubernetes release with
``additionalProperties: false`` everywhere (its ``--strict`` mode), so unknown fields are caught.
Its ``validate()`` re-reads the 1.4 MB definitions file for every document and raises only the
first error; we load the same bundled files once per release and kind and report every error.
The release is pinned: manifests must work on it.
"""
from __future__ import annotations

import functools
import importlib.resources
import json
import re
from typing import Any, Iterator

import jsonschema
from referencing import Registry, Resource

from .documents import Document
from .findings import UNKNOWN_FIELD, Finding, PathPart, Problem, at, located
from .tolerant import dig, mapping, sequence

KUBERNETES_VERSION = "1.33"
SCHEMAS = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
# rbac.authorization.k8s.io/v1 -> rbac-v1, apps/v1 -> apps-v1, v1 -> v1 (kubernetes-validate's
# file naming).
_GROUP_DOMAIN = re.compile(r"^([^./]*)(?:\.[^/]*)?/")
# What can name a schema file at all; anything else is simply not a Kubernetes kind.
_API_VERSION = re.compile(r"^(?:[a-z0-9.-]+/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


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


class UnsupportedVersion(ValueError):
    """kubernetes-validate bundles no schemas for the requested release."""


def schema_folder(version: str) -> Any:
    """The bundled strict schemas of one release; raises UnsupportedVersion when there are none."""
    folder = SCHEMAS / f"v{version}.0-local-strict"
    if not folder.is_dir():
        raise UnsupportedVersion(f"kubernetes-validate has no schemas for Kubernetes {version}")
    return folder


@functools.lru_cache(maxsize=4)
def _definitions(version: str) -> Registry:
    text = (schema_folder(version) / "_definitions.json").read_text(encoding="utf-8")
    return Resource.from_contents(json.loads(text)) @ Registry()


@functools.lru_cache(maxsize=256)
def kind_validator(version: str, api_version: str, kind: str
                   ) -> jsonschema.Draft202012Validator | None:
    """The strict validator of one kind in one release, or None when the release lacks the kind."""
    if not (_API_VERSION.match(api_version) and _KIND.match(kind)):
        return None
    group_version = _GROUP_DOMAIN.sub(r"\1-", api_version)
    schema_file = schema_folder(version) / f"{kind.lower()}-{group_version}.json"
    if not schema_file.is_file():
        return None
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        schema, registry=Resource.from_contents(schema) @ _definitions(version))


def schema_findings(doc: Document, version: str = KUBERNETES_VERSION) -> Iterator[Finding]:
    """Every schema error of one document; an unknown field is reported at its own path."""
    validator = kind_validator(version, doc.api_version, doc.kind)
    if validator is None:
        yield at(doc.file, doc.index, ["kind"],
                 f"{doc.api_version} {doc.kind} is not a kind of Kubernetes {version}")
        return
    for error in validator.iter_errors(doc.body):
        parts: list[PathPart] = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            declared = error.schema.get("properties", {})
            for key in sorted(set(error.instance) - set(declared)):
                yield at(doc.file, doc.index, [*parts, key],
                         f"{UNKNOWN_FIELD} (not in the Kubernetes {version} schema)")
        else:
            yield at(doc.file, doc.index, parts, f"Kubernetes {version} schema: {error.message}")


def hygiene_findings(doc: Document) -> Iterator[Finding]:
    """Our rules for built-in kinds: names, namespaces, no committed secrets, hardened pods."""
    return located(doc.file, doc.index, hygiene_problems(doc))


def hygiene_problems(doc: Document) -> Iterator[Problem]:
    """See :func:`hygiene_findings`."""
    if not doc.name:
        yield ["metadata", "name"], "is required"
    if doc.kind not in CLUSTER_SCOPED_KINDS and not doc.namespace:
        yield (["metadata", "namespace"],
               "is required: a namespaced resource names its namespace so that applying the "
               "folder cannot land it in the current context's namespace")
    if doc.kind == "Secret" and ("data" in doc.body or "stringData" in doc.body):
        key = "data" if "data" in doc.body else "stringData"
        yield ([key], "secret values are never committed: create the Secret out of band "
                      "(kubectl create secret) and reference it")
    template_path = WORKLOAD_POD_TEMPLATES.get(doc.kind)
    if template_path is not None:
        yield from pod_problems(doc.body, list(template_path))


def pod_problems(body: Any, template: list[PathPart]) -> Iterator[Problem]:
    """Pods run as non-root, without privilege escalation, with memory requests and limits."""
    spec_path = [*template, "spec"]
    spec = mapping(dig(body, spec_path))
    pod_non_root = dig(spec, ["securityContext", "runAsNonRoot"]) is True
    for group in ("initContainers", "containers"):
        for position, container in enumerate(sequence(spec.get(group))):
            here: list[PathPart] = [*spec_path, group, position]
            context = mapping(dig(container, ["securityContext"]))
            if not (pod_non_root or context.get("runAsNonRoot") is True):
                yield ([*here, "securityContext", "runAsNonRoot"],
                       "must be true (here or in the pod's securityContext)")
            if context.get("allowPrivilegeEscalation") is not False:
                yield [*here, "securityContext", "allowPrivilegeEscalation"], "must be false"
            for kind in ("requests", "limits"):
                if dig(container, ["resources", kind, "memory"]) is None:
                    yield ([*here, "resources", kind, "memory"],
                           "must be set: the scheduler and the OOM killer need it")
