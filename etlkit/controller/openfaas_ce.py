"""OpenFaaS Community Edition as the controller's platform: the gateway's API and nothing else.

CE gives a function no identity of ours: faas-netes stopped honouring the annotation
``com.openfaas.serviceaccount`` in CE (openfaas/faas-netes commit 09d44a46, 2022-02-18, "custom
ServiceAccounts ... move into OpenFaaS Pro"; 0.18.17 ``pkg/handlers/deploy.go`` sets no
``ServiceAccountName``), so the autoscaler's pod runs as ``default`` and every Kubernetes call
is refused (403). What CE does offer, through the gateway with basic auth:

* ``GET /system/function/<name>``: the function's ``replicas`` (desired) and
  ``availableReplicas`` (ready); 404 when it is not deployed (faas-netes
  ``pkg/handlers/replica_reader.go``). No pods and no nodes.
* ``POST /system/scale-function/<name>?namespace=<ns>`` with ``{"serviceName", "replicas"}``:
  202 and an empty body. The gateway raises a count below 1 to 1 and lowers one above 5 to 5
  before faas-netes sees it (openfaas/faas 0.27.14 ``gateway/scaling/ranges.go``), and
  faas-netes reads the namespace from the query, not the body
  (``pkg/handlers/replica_updater.go``). The controller never asks for a count outside 1..5: its
  plan is bounded first, and the decision log says so.

So on CE the controller sizes, it does not place: replicas are listed without nodes, on one
virtual node (:data:`CE_NODE`) that holds every replica the cap allows; the routes the matcher
computes there are advisory. I/O module: imports requests (through :class:`~.gateway.Gateway`).
"""
from __future__ import annotations

from collections.abc import Mapping

from ..scheduler import Node
from .config import CE_MAX_REPLICAS
from .errors import ApplyError, EdgeError, FunctionMissing
from .gateway import Gateway
from .ports import FunctionReplicas, Replica

__all__ = ["CommunityEdition", "CE_NODE"]

CE_NODE = "openfaas-ce"  # the one node the controller sees on CE: the gateway names none


class CommunityEdition:
    """A :class:`~.ports.ClusterView` and :class:`~.ports.Actuator` over CE's gateway API."""

    def __init__(self, gateway: Gateway, namespace: str = "openfaas-fn",
                 max_replicas: int = CE_MAX_REPLICAS) -> None:
        self.gateway, self.namespace, self.max_replicas = gateway, namespace, max_replicas

    def nodes(self, ours: frozenset[str]) -> list[Node]:
        # Room for every scaled function at the cap: placement is not CE's to decide.
        return [Node(CE_NODE, None, None, CE_NODE,
                     capacity=float(self.max_replicas * max(1, len(ours))))]

    def function(self, name: str) -> FunctionReplicas:
        resp = self.gateway.request("GET", f"/system/function/{name}",
                                    params={"namespace": self.namespace})
        if resp.status_code == 404:
            raise FunctionMissing("gateway", f"function {name} is not deployed in {self.namespace}")
        if resp.status_code != 200:
            raise EdgeError("gateway", f"GET /system/function/{name}: HTTP {resp.status_code} "
                                       f"{resp.text[:200]}")
        try:
            doc = resp.json()
            desired = int(doc["replicas"])
            ready = int(doc.get("availableReplicas") or 0)
        except (ValueError, KeyError, TypeError) as exc:
            raise EdgeError("gateway", f"GET /system/function/{name}: unexpected answer "
                                       f"({exc!r})") from exc
        # Replicas by position: the first `ready` are the ready ones. Stable names, so the
        # scheduler's memory of the replicas it added binds to the same ones next tick.
        replicas = tuple(Replica(f"{name}-{i}", CE_NODE, i < ready) for i in range(desired))
        return FunctionReplicas(name, desired, replicas, 1.0)

    def scale(self, function: str, replicas: int) -> None:
        if not 1 <= replicas <= self.max_replicas:
            # The gateway would clamp it without a word: refuse instead, so the plan and the
            # platform never silently disagree.
            raise ApplyError("gateway", f"scaling {function} to {replicas}: OpenFaaS CE allows "
                                        f"1..{self.max_replicas} replicas")
        resp = self.gateway.request(
            "POST", f"/system/scale-function/{function}", params={"namespace": self.namespace},
            json={"serviceName": function, "namespace": self.namespace, "replicas": replicas})
        if resp.status_code not in (200, 202):
            raise ApplyError("gateway", f"scaling {function} to {replicas}: HTTP "
                                        f"{resp.status_code} {resp.text[:200]}")

    def place(self, function: str, nodes: Mapping[str, int]) -> None:
        """Nothing to write: CE places no replica where asked (no node affinity, no API)."""
