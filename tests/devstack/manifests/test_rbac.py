"""The autoscaler's permissions, read from the committed k8s/rbac manifests.

This pins least privilege: a new verb must be added here on purpose, next to the controller code
that needs it.
"""
from __future__ import annotations

from devstack.manifests import Grant, grants_of, load_file

from .conftest import REPO

NAMESPACE = "openfaas-fn"
# Exactly what etlkit/controller/kubernetes.py calls (tests/etlkit/controller/test_kubernetes.py
# compares its requests to an emulated API server with these grants).
AUTOSCALER_GRANTS = frozenset({
    Grant(NAMESPACE, "apps", "deployments", "get"),
    Grant(NAMESPACE, "apps", "deployments", "patch"),
    Grant(NAMESPACE, "apps", "deployments/scale", "get"),
    Grant(NAMESPACE, "apps", "deployments/scale", "update"),
    Grant(NAMESPACE, "", "pods", "list"),
    Grant(None, "", "nodes", "list"),
})

# Exactly what etlkit/runs/kubernetes_backend.py calls (tests/etlkit/runs/test_kubernetes_backend.py
# compares its requests to an emulated API server with these grants). No delete on topics: a stop
# keeps the data and the consumer groups' offsets.
WORKFLOW_MANAGER_GRANTS = frozenset(
    {Grant("argo-events", "argoproj.io", resource, verb)
     for resource in ("sensors", "eventsources") for verb in ("list", "create", "update", "delete")}
    | {Grant("kafka", "kafka.strimzi.io", "kafkatopics", verb) for verb in ("list", "create", "update")})


def _rbac_documents():
    documents = []
    for path in sorted((REPO / "k8s" / "rbac").glob("*.yaml")):
        documents.extend(load_file(path, REPO)[0])
    return documents


def test_autoscaler_has_exactly_the_documented_grants():
    assert grants_of(_rbac_documents(), NAMESPACE, "autoscaler") == AUTOSCALER_GRANTS


def test_workflow_manager_has_exactly_the_documented_grants():
    assert grants_of(_rbac_documents(), NAMESPACE, "workflow-manager") == WORKFLOW_MANAGER_GRANTS


def test_no_other_service_account_gets_anything():
    assert grants_of(_rbac_documents(), NAMESPACE, "default") == frozenset()
    assert grants_of(_rbac_documents(), "kube-system", "autoscaler") == frozenset()


def test_a_role_binding_to_a_cluster_role_is_scoped_to_its_namespace(tmp_path):
    (tmp_path / "rbac.yaml").write_text("""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: ServiceAccount, name: bot, namespace: team}]
""")
    documents = load_file(tmp_path / "rbac.yaml", tmp_path)[0]
    assert grants_of(documents, "team", "bot") == {Grant("team", "", "configmaps", "get")}
