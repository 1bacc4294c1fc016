"""Built-in kinds: kubernetes-validate --strict (pinned release) plus our hygiene rules."""
from __future__ import annotations

import pathlib
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils as kv_utils
import pytest

from devstack.manifests import Document, Family, format_path, load_file
from devstack.manifests.documents import family_of
from devstack.manifests.kubernetes_kinds import KUBERNETES_VERSION, schema_findings

from .conftest import REPO, assert_named
from .example_repo import first

DEPLOYMENT = "k8s/apps/deployment.yaml"
STATEFULSET = "k8s/apps/statefulset.yaml"
ROLE = "k8s/rbac/role.yaml"
POLICY = "k8s/network/policy.yaml"
POD = "spec.template.spec"
CONTAINER = f"{POD}.containers[0]"



def _container(files: dict, name: str) -> dict[str, Any]:
    return first(files, name)["spec"]["template"]["spec"]["containers"][0]


CASES = [
    pytest.param(DEPLOYMENT, lambda f: _container(f, DEPLOYMENT).update(imagePolicy="Always"),
                 f"{CONTAINER}.imagePolicy", "unknown field (not in the Kubernetes 1.33 schema)",
                 id="deployment-unknown-container-field"),
    pytest.param(DEPLOYMENT, lambda f: first(f, DEPLOYMENT)["spec"].update(replicas="two"),
                 "spec.replicas", "Kubernetes 1.33 schema: 'two' is not of type",
                 id="deployment-replicas-not-integer"),
    pytest.param(DEPLOYMENT, lambda f: first(f, DEPLOYMENT)["spec"]["template"]["spec"].pop(
                     "securityContext"),
                 f"{CONTAINER}.securityContext.runAsNonRoot", "must be true",
                 id="deployment-may-run-as-root"),
    pytest.param(DEPLOYMENT, lambda f: _container(f, DEPLOYMENT)["securityContext"].pop(
                     "allowPrivilegeEscalation"),
                 f"{CONTAINER}.securityContext.allowPrivilegeEscalation", "must be false",
                 id="deployment-privilege-escalation"),
    pytest.param(DEPLOYMENT, lambda f: first(f, DEPLOYMENT)["metadata"].pop("namespace"),
                 "metadata.namespace", "is required", id="deployment-without-namespace"),
    pytest.param(STATEFULSET, lambda f: _container(f, STATEFULSET)["resources"].pop("limits"),
                 f"{CONTAINER}.resources.limits.memory", "must be set",
                 id="statefulset-missing-memory-limit"),
    pytest.param(STATEFULSET, lambda f: first(f, STATEFULSET)["spec"]["volumeClaimTemplates"][0][
                     "spec"].update(accessMode=["ReadWriteOnce"]),
                 "spec.volumeClaimTemplates[0].spec.accessMode", "unknown field",
                 id="statefulset-claim-unknown-field"),
    pytest.param(ROLE, lambda f: first(f, ROLE)["rules"][0].update(verb=["list"]),
                 "rules[0].verb", "unknown field", id="role-unknown-field"),
    pytest.param(ROLE, lambda f: first(f, ROLE)["rules"][0].pop("verbs"),
                 "rules[0]", "'verbs' is a required property", id="role-rule-without-verbs"),
    pytest.param(POLICY, lambda f: first(f, POLICY)["spec"]["ingress"][0]["from"][0].update(
                     namespaceSelectors={}),
                 "spec.ingress[0].from[0].namespaceSelectors", "unknown field",
                 id="networkpolicy-unknown-peer-field"),
    pytest.param(POLICY, lambda f: first(f, POLICY)["spec"].update(policyTypes="Ingress"),
                 "spec.policyTypes", "is not of type 'array'",
                 id="networkpolicy-policy-types-not-list"),
    pytest.param("k8s/secret.yaml", lambda f: f.update({"k8s/secret.yaml": [{
                     "apiVersion": "v1", "kind": "Secret",
                     "metadata": {"name": "pg", "namespace": "etl-data"},
                     "stringData": {"password": "hunter2"}}]}),
                 "stringData", "never committed", id="secret-value-committed"),
    pytest.param("k8s/ingress.yaml", lambda f: f.update({"k8s/ingress.yaml": [{
                     "apiVersion": "extensions/v1beta1", "kind": "Ingress",
                     "metadata": {"name": "gw", "namespace": "openfaas"}, "spec": {}}]}),
                 "kind", "is not a kind of Kubernetes 1.33", id="removed-api-version"),
    pytest.param("k8s/monitor.yaml", lambda f: f.update({"k8s/monitor.yaml": [{
                     "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
                     "metadata": {"name": "gw", "namespace": "openfaas"}, "spec": {}}]}),
                 "apiVersion", "no validator knows monitoring.coreos.com/v1 ServiceMonitor",
                 id="unknown-custom-resource"),
]


@pytest.mark.parametrize(("file", "mutate", "path", "rule"), CASES)
def test_kubernetes_rule_names_path_and_rule(files, validate_repo, file, mutate, path, rule):
    mutate(files)
    assert_named(validate_repo(files), file, path, rule)


def test_a_secret_without_values_may_be_committed(files, validate_repo):
    """An empty Secret (a placeholder filled out of band) breaks no rule."""
    files["k8s/secret.yaml"] = [{"apiVersion": "v1", "kind": "Secret",
                                 "metadata": {"name": "pg", "namespace": "etl-data"}}]
    assert validate_repo(files).findings == ()


def _builtin_documents(files: dict) -> list[Document]:
    return [Document(name, 0, body, Family.KUBERNETES) for name, docs in files.items()
            for body in docs if family_of(pathlib.PurePosixPath(name), body) is Family.KUBERNETES]


def _their_verdict(body: dict) -> str | None:
    """kubernetes-validate's own validate(): None when it accepts, else the error's path."""
    try:
        kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)
    except kv_utils.ValidationError as error:
        return format_path(list(error.path))
    except kv_utils.SchemaNotFoundError:
        return "kind"
    return None


@pytest.mark.parametrize(("file", "mutate"), [case.values[:2] for case in CASES]
                         + [pytest.param("", lambda f: None, id="unbroken")],
                         ids=[case.id for case in CASES] + ["unbroken"])
def test_schema_verdict_agrees_with_kubernetes_validate(files, file, mutate):
    """Our cached all-errors validation and kubernetes-validate's validate() agree per document:
    both accept, or both reject and its (first) error lies at or above one of our paths."""
    mutate(files)
    for doc in _builtin_documents(files):
        theirs = _their_verdict(doc.body)
        ours = [f.path for f in schema_findings(doc, KUBERNETES_VERSION)]
        assert (theirs is None) == (not ours), (doc.file, theirs, ours)
        if theirs is not None:
            assert any(path.startswith(theirs) for path in ours), (doc.file, theirs, ours)


@pytest.mark.parametrize("relative", sorted(
    p.relative_to(REPO).as_posix() for p in (REPO / "k8s").rglob("*.yaml")))
def test_committed_manifests_pass_kubernetes_validate_itself(relative):
    """The committed built-in manifests pass kubernetes-validate's own strict validate() too."""
    for doc in load_file(REPO / relative, REPO)[0]:
        if doc.family is Family.KUBERNETES:
            assert _their_verdict(doc.body) is None
