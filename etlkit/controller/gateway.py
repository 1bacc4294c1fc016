"""The OpenFaaS gateway edge: metrics, the matcher function, and the local platform.

* :class:`GatewayMetrics`: seconds spent in each function's calls, from ``/metrics``
  (``gateway_functions_seconds_sum``, every status code), on the local gateway and on OpenFaaS.
* :class:`FunctionMatcher`: the matching solved by the ``matcher`` function over the gateway.
* :class:`LocalPlatform`: the local gateway as a cluster. Nodes come from the topology file
  (labels and capacity, in replicas); a function's replicas and their nodes from
  ``GET /system/function/<name>`` (the local gateway's ``instances``); other functions' replicas
  per node (the nodes' background load) from its ``faas_etl_replicas_per_node`` gauge; scaling
  is ``POST /system/scale-function/<name>``. The local gateway puts a new replica on the least
  loaded node (relative to capacity, ties in file order), the rule the scheduler places by, so
  :meth:`LocalPlatform.place` has nothing to write: the controller checks afterwards where the
  replicas landed and reports any difference.

I/O module: imports requests and yaml. A gateway that does not answer is EdgeError("gateway").
"""
from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence

import requests
import yaml

from ..scheduler import Endpoint, Node, NodeTopology, ServiceMatching
from ..secrets import read_secret
from .errors import ApplyError, ConfigError, EdgeError, FunctionMissing
from .measure import function_seconds, parse_prometheus, replicas_per_node
from .measure import FUNCTION_SECONDS, REPLICAS_PER_NODE
from .ports import FunctionReplicas, Replica

__all__ = ["Gateway", "GatewayMetrics", "FunctionMatcher", "LocalPlatform", "load_topology",
           "read_secret"]

REGION = "topology.kubernetes.io/region"
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"


class Gateway:
    """HTTP to the gateway with its basic auth (when the secrets are there) and timeouts."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None, timeout_s: float = 10.0,
                 session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = session or requests.Session()
        if auth is not None:
            self.session.auth = auth

    @classmethod
    def from_secrets(cls, url: str, folder: str | None = None, **kw) -> Gateway:
        user, password = read_secret("basic-auth-user", folder), read_secret("basic-auth-password", folder)
        return cls(url, (user, password) if user and password else None, **kw)

    def request(self, method: str, path: str, *, edge: str = "gateway", **kw) -> requests.Response:
        url = path if path.startswith("http") else f"{self.url}{path}"
        try:
            return self.session.request(method, url, timeout=self.timeout_s, **kw)
        except requests.RequestException as exc:
            raise EdgeError(edge, f"{method} {url}: {type(exc).__name__}: {exc}") from exc


class GatewayMetrics:
    """A :class:`~.ports.FunctionMetrics` reading the gateway's Prometheus text."""

    def __init__(self, gateway: Gateway, url: str, namespace: str) -> None:
        self.gateway, self.url, self.namespace = gateway, url, namespace

    def samples(self) -> dict:
        resp = self.gateway.request("GET", self.url)
        if resp.status_code != 200:
            raise EdgeError("gateway", f"GET {self.url}: HTTP {resp.status_code}")
        return parse_prometheus(resp.text, (FUNCTION_SECONDS, REPLICAS_PER_NODE))

    def busy_seconds(self) -> dict[str, float]:
        return function_seconds(self.samples(), self.namespace)


class FunctionMatcher:
    """A :class:`~.ports.Matcher` that asks the ``matcher`` function."""

    def __init__(self, gateway: Gateway, function: str = "matcher",
                 algorithm: str = "hierarchical") -> None:
        self.gateway, self.function, self.algorithm = gateway, function, algorithm

    def match(self, upstream: Sequence[Endpoint], downstream: Sequence[Endpoint],
              nodes: Mapping[str, NodeTopology]) -> ServiceMatching:
        body = {"algorithm": self.algorithm,
                "upstream": [vars(e) for e in upstream],
                "downstream": [vars(e) for e in downstream],
                "nodes": [{"name": n.name, "region": n.region, "zone": n.zone,
                           "hostname": n.hostname} for n in nodes.values()]}
        resp = self.gateway.request("POST", f"/function/{self.function}", json=body,
                                    edge="matcher")
        if resp.status_code != 200:
            raise EdgeError("matcher", f"HTTP {resp.status_code}: {resp.text[:300]}")
        try:
            return ServiceMatching.from_dict(resp.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise EdgeError("matcher", f"unexpected answer ({exc})") from exc


def load_topology(path: str | os.PathLike[str]) -> list[Node]:
    """Nodes of the local topology file (``nodes: [{name, labels, capacity}]``)."""
    try:
        doc = yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError("TOPOLOGY_FILE", f"cannot read {path} ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list) or not doc["nodes"]:
        raise ConfigError("TOPOLOGY_FILE", f"{path}: nodes must be a non-empty list")
    nodes = []
    for k, raw in enumerate(doc["nodes"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ConfigError(f"TOPOLOGY_FILE nodes[{k}].name", "required, a string")
        labels = raw.get("labels") or {}
        capacity = raw.get("capacity", 16)
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
            raise ConfigError(f"TOPOLOGY_FILE nodes[{k}].capacity", "must be a whole number >= 1")
        nodes.append(Node(raw["name"], labels.get(REGION), labels.get(ZONE),
                          labels.get(HOSTNAME, raw["name"]), capacity=float(capacity)))
    return nodes


class LocalPlatform:
    """The local gateway as a :class:`~.ports.ClusterView` and :class:`~.ports.Actuator`."""

    def __init__(self, gateway: Gateway, metrics: GatewayMetrics, nodes: Sequence[Node],
                 namespace: str = "openfaas-fn") -> None:
        self.gateway, self.metrics, self._nodes, self.namespace = gateway, metrics, list(nodes), namespace

    def nodes(self, ours: frozenset[str]) -> list[Node]:
        per_node = replicas_per_node(self.metrics.samples())
        other: dict[str, float] = {}
        for (function, node), count in per_node.items():
            if function.partition(".")[0] not in ours:
                other[node] = other.get(node, 0.0) + count
        return [Node(n.name, n.region, n.zone, n.hostname, n.capacity, other.get(n.name, 0.0))
                for n in self._nodes]

    def function(self, name: str) -> FunctionReplicas:
        resp = self.gateway.request("GET", f"/system/function/{name}")
        if resp.status_code == 404:
            raise FunctionMissing("gateway", f"function {name} is not deployed")
        if resp.status_code != 200:
            raise EdgeError("gateway", f"GET /system/function/{name}: HTTP {resp.status_code}")
        doc = resp.json()
        replicas = tuple(sorted((Replica(str(i["id"]), str(i["node"]), bool(i.get("ready", True)))
                                 for i in doc.get("instances") or []),
                                key=lambda r: (r.node, r.id)))
        return FunctionReplicas(name, int(doc.get("replicas", len(replicas))), replicas, 1.0)

    def scale(self, function: str, replicas: int) -> None:
        resp = self.gateway.request("POST", f"/system/scale-function/{function}", json={
            "serviceName": function, "namespace": self.namespace, "replicas": replicas})
        if resp.status_code not in (200, 202):
            raise ApplyError("gateway", f"scaling {function} to {replicas}: HTTP "
                                        f"{resp.status_code} {resp.text[:200]}")

    def place(self, function: str, nodes: Mapping[str, int]) -> None:
        """Nothing to write: the gateway places by the scheduler's own rule (see the module)."""
