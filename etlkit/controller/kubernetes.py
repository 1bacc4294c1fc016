"""The Kubernetes edge: nodes, function Deployments and their pods, scale, and placement.

Through the official ``kubernetes`` client, with exactly the verbs ``k8s/rbac`` grants the
autoscaler's ServiceAccount (a test checks the two agree):

=======================  ==============  ==============================================
resource                 verbs           what for
=======================  ==============  ==============================================
nodes (cluster)          list            labels (region, zone, hostname), allocatable CPU
apps/deployments         get, patch      replicas, CPU request, node affinity; placement
apps/deployments/scale   get, update     the replica count, with its resourceVersion
pods                     list            which node each replica runs on, readiness
=======================  ==============  ==============================================

A function is the Deployment OpenFaaS made for it (pods labelled ``faas_function=<name>``).
A replica weighs its containers' CPU request (cores); a node holds its allocatable CPU; pods of
functions the tick does not scale are the node's background load. Scaling writes the scale
subresource with the resourceVersion just read, so a replica count changed by someone else in
between is a conflict (reported, nothing overwritten). Placement is the Deployment's preferred
node affinity on ``kubernetes.io/hostname``, one term per node weighted by its planned share;
changing it rolls the pods, so the controller writes it only when the set of nodes changes.

I/O module. Anything the API refuses or does not answer is an EdgeError("kubernetes").
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from ..scheduler import Node
from .errors import ApplyError, EdgeError, FunctionMissing
from .ports import FunctionReplicas, Replica

__all__ = ["KubernetesPlatform", "cpu_cores", "FUNCTION_LABEL", "HOSTNAME"]

FUNCTION_LABEL = "faas_function"
HOSTNAME = "kubernetes.io/hostname"
REGION = "topology.kubernetes.io/region"
ZONE = "topology.kubernetes.io/zone"
DEFAULT_CPU = 0.1  # cores a replica is counted at when its Deployment requests none
_DONE = ("Succeeded", "Failed")


def cpu_cores(quantity: str | None, default: float = 0.0) -> float:
    """A Kubernetes CPU quantity in cores.

    >>> cpu_cores("250m"), cpu_cores("2"), cpu_cores("1.5"), cpu_cores(None, 0.1)
    (0.25, 2.0, 1.5, 0.1)
    """
    if quantity is None or quantity == "":
        return default
    text = str(quantity)
    if text.endswith("m"):
        return float(text[:-1]) / 1000.0
    return float(text)


def _api_error(what: str, exc: Exception) -> str:
    if isinstance(exc, ApiException):
        return f"{what}: HTTP {exc.status} {exc.reason}"
    return f"{what}: {type(exc).__name__}: {exc}"


def _ready(pod) -> bool:
    for condition in (pod.status.conditions or []) if pod.status else []:
        if condition.type == "Ready":
            return condition.status == "True"
    return False


def _requests(pod_spec) -> float:
    total = 0.0
    for container in pod_spec.containers or []:
        requests = (container.resources.requests or {}) if container.resources else {}
        total += cpu_cores(requests.get("cpu"))
    return total


def _preferred_nodes(deployment) -> dict[str, int]:
    """Node -> weight of the Deployment's preferred hostname affinity ({} when it has none)."""
    spec = deployment.spec.template.spec
    affinity = spec.affinity.node_affinity if spec.affinity and spec.affinity.node_affinity else None
    out: dict[str, int] = {}
    for term in (affinity.preferred_during_scheduling_ignored_during_execution or []) if affinity else []:
        for expr in term.preference.match_expressions or []:
            if expr.key == HOSTNAME and expr.operator == "In":
                for value in expr.values or []:
                    out[value] = out.get(value, 0) + term.weight
    return out


class KubernetesPlatform:
    """A :class:`~.ports.ClusterView` and :class:`~.ports.Actuator` over the Kubernetes API."""

    def __init__(self, api: client.ApiClient, namespace: str = "openfaas-fn",
                 timeout_s: float = 10.0) -> None:
        self.core, self.apps = client.CoreV1Api(api), client.AppsV1Api(api)
        self.namespace, self.timeout_s = namespace, timeout_s

    @classmethod
    def in_cluster(cls, namespace: str) -> KubernetesPlatform:
        """With the pod's ServiceAccount token (what a function in the cluster has)."""
        from kubernetes import config

        try:
            config.load_incluster_config()
        except config.ConfigException as exc:
            raise EdgeError("kubernetes", f"no in-cluster credentials ({exc})") from exc
        return cls(client.ApiClient(), namespace)

    @classmethod
    def at(cls, url: str, namespace: str, token: str | None = None) -> KubernetesPlatform:
        """An API server at ``url`` (tests, or a controller run outside the cluster)."""
        configuration = client.Configuration(host=url.rstrip("/"))
        if token:
            configuration.api_key = {"authorization": f"Bearer {token}"}
        return cls(client.ApiClient(configuration), namespace)

    # -- ClusterView ----------------------------------------------------------------------------
    def nodes(self, ours: frozenset[str]) -> list[Node]:
        try:
            nodes = self.core.list_node(_request_timeout=self.timeout_s).items
            pods = self.core.list_namespaced_pod(self.namespace,
                                                 _request_timeout=self.timeout_s).items
        except (ApiException, HTTPError) as exc:
            raise EdgeError("kubernetes", _api_error("listing nodes and pods", exc)) from exc
        background: dict[str, float] = {}
        for pod in pods:
            labels = pod.metadata.labels or {}
            node = pod.spec.node_name
            if (node and labels.get(FUNCTION_LABEL) not in ours and pod.status
                    and pod.status.phase not in _DONE and not pod.metadata.deletion_timestamp):
                background[node] = background.get(node, 0.0) + _requests(pod.spec)
        out = []
        for node in sorted(nodes, key=lambda n: n.metadata.name):
            if node.spec and node.spec.unschedulable:
                continue
            labels = node.metadata.labels or {}
            allocatable = (node.status.allocatable or {}) if node.status else {}
            name = node.metadata.name
            out.append(Node(name, labels.get(REGION), labels.get(ZONE), labels.get(HOSTNAME, name),
                            capacity=cpu_cores(allocatable.get("cpu"), math.inf) or math.inf,
                            background_load=background.get(name, 0.0)))
        return out

    def function(self, name: str) -> FunctionReplicas:
        try:
            deployment = self.apps.read_namespaced_deployment(name, self.namespace,
                                                              _request_timeout=self.timeout_s)
            pods = self.core.list_namespaced_pod(self.namespace,
                                                 label_selector=f"{FUNCTION_LABEL}={name}",
                                                 _request_timeout=self.timeout_s).items
        except ApiException as exc:
            if exc.status == 404:
                raise FunctionMissing("kubernetes", f"function {name} has no Deployment in "
                                                    f"{self.namespace}") from exc
            raise EdgeError("kubernetes", _api_error(f"reading {name}", exc)) from exc
        except HTTPError as exc:
            raise EdgeError("kubernetes", _api_error(f"reading {name}", exc)) from exc
        replicas = tuple(sorted(
            (Replica(p.metadata.name, p.spec.node_name, _ready(p)) for p in pods
             if p.spec.node_name and not p.metadata.deletion_timestamp
             and (p.metadata.labels or {}).get(FUNCTION_LABEL) == name
             and not (p.status and p.status.phase in _DONE)),
            key=lambda r: (r.node, r.id)))
        weight = _requests(deployment.spec.template.spec) or DEFAULT_CPU
        desired = deployment.spec.replicas if deployment.spec.replicas is not None else 1
        return FunctionReplicas(name, desired, replicas, weight, _preferred_nodes(deployment))

    # -- Actuator -------------------------------------------------------------------------------
    def scale(self, function: str, replicas: int) -> None:
        try:
            current = self.apps.read_namespaced_deployment_scale(function, self.namespace,
                                                                 _request_timeout=self.timeout_s)
            if current.spec.replicas == replicas:
                return
            body = client.V1Scale(api_version="autoscaling/v1", kind="Scale",
                                  metadata=client.V1ObjectMeta(
                                      name=function, namespace=self.namespace,
                                      resource_version=current.metadata.resource_version),
                                  spec=client.V1ScaleSpec(replicas=replicas))
            self.apps.replace_namespaced_deployment_scale(function, self.namespace, body,
                                                          _request_timeout=self.timeout_s)
        except ApiException as exc:
            if exc.status == 409:
                raise ApplyError("kubernetes", f"scaling {function} to {replicas}: its scale "
                                               "changed since it was read (conflict)") from exc
            raise ApplyError("kubernetes", _api_error(f"scaling {function} to {replicas}",
                                                      exc)) from exc
        except HTTPError as exc:
            raise ApplyError("kubernetes", _api_error(f"scaling {function}", exc)) from exc

    def place(self, function: str, nodes: Mapping[str, int]) -> None:
        top = max(nodes.values(), default=0)
        terms = [{"weight": max(1, round(100 * count / top)),
                  "preference": {"matchExpressions": [
                      {"key": HOSTNAME, "operator": "In", "values": [node]}]}}
                 for node, count in sorted(nodes.items()) if count > 0]
        patch = {"spec": {"template": {"spec": {"affinity": {"nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": terms}}}}}}
        try:
            self.apps.patch_namespaced_deployment(function, self.namespace, patch,
                                                  _request_timeout=self.timeout_s)
        except (ApiException, HTTPError) as exc:
            raise ApplyError("kubernetes", _api_error(f"placing {function}", exc)) from exc
