"""What a ServiceAccount may do, read from the RBAC manifests (for tests of least privilege).

The controller's tests compare the Kubernetes calls it makes with :func:`grants_of` the
``autoscaler`` ServiceAccount, so the manifests and the code cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from .documents import Document
from .tolerant import sequence


@dataclass(frozen=True, order=True)
class Grant:
    """One verb on one resource; ``namespace`` None means cluster-wide."""

    namespace: str | None
    api_group: str
    resource: str
    verb: str


def _subjects_include(binding: Document, namespace: str, name: str) -> bool:
    subjects = sequence(binding.body.get("subjects"))
    return any(isinstance(s, dict) and s.get("kind") == "ServiceAccount" and s.get("name") == name
               and s.get("namespace", binding.namespace) == namespace for s in subjects)


def _rules(role: Document) -> Iterator[dict[str, Any]]:
    yield from (rule for rule in sequence(role.body.get("rules")) if isinstance(rule, dict))


def grants_of(documents: Iterable[Document], namespace: str, service_account: str
              ) -> frozenset[Grant]:
    """Every (namespace, group, resource, verb) the ServiceAccount is bound to."""
    documents = [d for d in documents if d.api_version.startswith("rbac.authorization.k8s.io/")]
    roles = {(d.kind, d.namespace, d.name): d for d in documents
             if d.kind in ("Role", "ClusterRole")}
    grants: set[Grant] = set()
    for binding in documents:
        if binding.kind not in ("RoleBinding", "ClusterRoleBinding") or \
                not _subjects_include(binding, namespace, service_account):
            continue
        ref = binding.body.get("roleRef") or {}
        role_namespace = binding.namespace if ref.get("kind") == "Role" else None
        role = roles.get((ref.get("kind"), role_namespace, ref.get("name")))
        scope = binding.namespace if binding.kind == "RoleBinding" else None
        for rule in _rules(role) if role else ():
            grants.update(Grant(scope, group, resource, verb)
                          for group in sequence(rule.get("apiGroups"))
                          for resource in sequence(rule.get("resources"))
                          for verb in sequence(rule.get("verbs")))
    return frozenset(grants)
