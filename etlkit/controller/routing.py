"""Routes: the matching as a table the data path follows, and the counters that check it.

The matcher says how many records/s each upstream service should send to each downstream
service. :class:`LinkRoutes` keeps those flows with the nodes of both ends; the data path follows
them per node (a record carries the node it was produced on): every service on a node has the
same topology costs, so the node-level split costs exactly what the service-level plan costs,
and the replicas of a node can share its traffic in turns.

:class:`RoutePicker` turns weights into a deterministic sequence of choices (smooth weighted
round robin, as nginx balances upstreams): after n picks each target has been chosen within one
of n * weight / total, so a route's share of records matches the plan's share of flow without
randomness. :class:`RouteCounters` counts records per (from node, to node) and
:func:`measured_cost` prices them with the same topology distance the matcher minimised, so the
traffic cost of the data path is measured, not assumed.

Pure: no I/O, no clock.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..scheduler import Endpoint, NodeTopology, ServiceMatching, topology_distance

__all__ = ["Flow", "LinkRoutes", "link_routes", "RoutePicker", "RouteCounters",
           "measured_cost"]


@dataclass(frozen=True)
class Flow:
    """records/s from an upstream service (on a node) to a downstream one, and its unit cost."""

    upstream: str
    upstream_node: str
    downstream: str
    downstream_node: str
    rate: float
    cost: float


@dataclass(frozen=True)
class LinkRoutes:
    """The routes between two adjacent functions of a workflow."""

    upstream: str
    downstream: str
    algorithm: str
    flows: tuple[Flow, ...]

    @property
    def total_flow(self) -> float:
        return sum(f.rate for f in self.flows)

    @property
    def total_cost(self) -> float:
        return sum(f.rate * f.cost for f in self.flows)

    @property
    def cost_per_record(self) -> float:
        """The plan's mean topology distance of one record (0 when nothing flows)."""
        total = self.total_flow
        return self.total_cost / total if total > 0 else 0.0

    def _sum(self, key, keep=lambda f: True) -> dict[str, float]:
        out: dict[str, float] = {}
        for f in self.flows:
            if keep(f):
                out[key(f)] = out.get(key(f), 0.0) + f.rate
        return out

    def node_weights(self, node: str) -> dict[str, float]:
        """Downstream node -> records/s, for everything the upstream services on ``node`` send."""
        return self._sum(lambda f: f.downstream_node, lambda f: f.upstream_node == node)

    def downstream_weights(self) -> dict[str, float]:
        """Downstream node -> records/s over all senders (for a sender of unknown origin)."""
        return self._sum(lambda f: f.downstream_node)

    def to_dict(self) -> dict:
        return {"upstream": self.upstream, "downstream": self.downstream,
                "algorithm": self.algorithm, "total_flow": self.total_flow,
                "total_cost": self.total_cost, "cost_per_record": self.cost_per_record,
                "flows": [[f.upstream, f.upstream_node, f.downstream, f.downstream_node,
                           f.rate, f.cost] for f in self.flows]}

    @classmethod
    def from_dict(cls, data: Mapping) -> LinkRoutes:
        return cls(str(data["upstream"]), str(data["downstream"]), str(data["algorithm"]),
                   tuple(Flow(str(u), str(un), str(d), str(dn), float(r), float(c))
                         for u, un, d, dn, r, c in data["flows"]))


def link_routes(upstream: str, downstream: str, matching: ServiceMatching,
                up: Sequence[Endpoint], down: Sequence[Endpoint]) -> LinkRoutes:
    """The matching between ``upstream`` and ``downstream`` with the nodes of both ends."""
    up_node = {e.service_id: e.node for e in up}
    down_node = {e.service_id: e.node for e in down}
    flows = tuple(Flow(f.upstream, up_node[f.upstream], f.downstream, down_node[f.downstream],
                       f.amount, f.cost) for f in matching.flows if f.amount > 0)
    return LinkRoutes(upstream, downstream, matching.algorithm, flows)


@dataclass
class RoutePicker:
    """Smooth weighted round robin over ``weights`` (target -> weight > 0).

    >>> picker = RoutePicker({"a": 3.0, "b": 1.0})
    >>> "".join(picker.pick() for _ in range(8))
    'aabaaaba'
    """

    weights: Mapping[str, float]
    _current: dict[str, float] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.weights = {t: float(w) for t, w in sorted(self.weights.items()) if w > 0}
        if not self.weights:
            raise ValueError("weights: at least one target needs a weight > 0")
        self._current = dict.fromkeys(self.weights, 0.0)
        self._total = sum(self.weights.values())

    def pick(self) -> str:
        for target, weight in self.weights.items():
            self._current[target] += weight
        best = max(self._current, key=lambda t: (self._current[t], -list(self.weights).index(t)))
        self._current[best] -= self._total
        return best


class RouteCounters:
    """Records sent per (from node, to node)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, source: str, target: str, records: int = 1) -> None:
        key = (source, target)
        self.counts[key] = self.counts.get(key, 0) + records

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict:
        return {f"{s}->{t}": n for (s, t), n in sorted(self.counts.items())}


def measured_cost(counts: Mapping[tuple[str, str], int],
                  nodes: Mapping[str, NodeTopology]) -> float:
    """Mean topology distance per record actually sent (0 when nothing was sent).

    >>> nodes = {"a": NodeTopology("a", "r", "z1", "a"), "b": NodeTopology("b", "r", "z1", "b"),
    ...          "c": NodeTopology("c", "r", "z2", "c")}
    >>> measured_cost({("a", "a"): 2, ("a", "c"): 2}, nodes)
    2.0
    """
    total = sum(counts.values())
    if total == 0:
        return 0.0
    cost = sum(n * topology_distance(nodes[s].path, nodes[t].path)
               for (s, t), n in counts.items())
    return cost / total


class RouteSplitter:
    """Send each record to a downstream replica the routes choose, given the node it came from.

    ``replicas`` lists the downstream replicas per node. A record from an upstream node the routes
    know goes to a downstream node by that node's weights; from an unknown node (no header, or a
    replica the plan did not see) by the downstream nodes' overall weights; a node the routes
    name but where no replica runs any more is left out of the choice. Within a node, replicas
    take turns. :attr:`counters` counts records per (from node, to node).
    """

    def __init__(self, routes: LinkRoutes, replicas: Mapping[str, Sequence[str]]) -> None:
        self.routes = routes
        self.replicas = {n: list(ids) for n, ids in replicas.items() if ids}
        if not self.replicas:
            raise ValueError("replicas: no downstream replica to send to")
        self.counters = RouteCounters()
        self._pickers: dict[str | None, RoutePicker] = {}
        self._turn: dict[str, int] = {}

    def _picker(self, origin: str | None) -> RoutePicker:
        picker = self._pickers.get(origin)
        if picker is None:
            weights = self.routes.node_weights(origin) if origin is not None else {}
            weights = {n: w for n, w in weights.items() if n in self.replicas}
            if not weights:
                weights = {n: w for n, w in self.routes.downstream_weights().items()
                           if n in self.replicas}
            if not weights:  # no routes at all: every replica alike
                weights = {n: float(len(ids)) for n, ids in self.replicas.items()}
            picker = self._pickers[origin] = RoutePicker(weights)
        return picker

    def assign(self, origin: str | None) -> tuple[str, str]:
        """The (node, replica) the next record from ``origin`` goes to; counted."""
        node = self._picker(origin).pick()
        turn = self._turn.get(node, 0)
        self._turn[node] = turn + 1
        ids = self.replicas[node]
        self.counters.add(origin or "?", node)
        return node, ids[turn % len(ids)]
