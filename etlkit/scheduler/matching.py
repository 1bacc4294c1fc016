"""Matching the services of one operation to those of the next, by service id.

With pure topology costs, every service on a node has the same cost row, so services are
summed per node, the node-level instance is solved exactly (it is tiny: nodes, not services),
and each node-to-node flow is split over the services of both nodes in order. Any split costs
the same, so the result stays optimal; this is what makes 500 x 500 services cheap. Forbidden
pairs or link caps break the symmetry between services of a node, so then the exact solver runs
on the services themselves.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .baselines import greedy_pairs, greedy_per_service, round_robin
from .errors import MatchingInputError, require
from .hierarchical import hierarchical_transport
from .mincostflow import min_cost_max_flow
from .topology import NodeTopology, distance_matrix
from .transport import Transport, stability

__all__ = ["Endpoint", "Flow", "ServiceMatching", "Algorithm", "ALGORITHMS", "match_services"]

Algorithm = Literal["hierarchical", "exact", "greedy", "greedy-per-service", "round-robin"]
ALGORITHMS: tuple[Algorithm, ...] = (
    "hierarchical", "exact", "greedy", "greedy-per-service", "round-robin")
_BASELINES = {"greedy": greedy_pairs, "greedy-per-service": greedy_per_service,
              "round-robin": round_robin}


@dataclass(frozen=True)
class Endpoint:
    """One service as the matcher sees it: where it runs and how fast it can go (records/s)."""

    service_id: str
    node: str
    velocity: float


@dataclass(frozen=True)
class Flow:
    """Records/s sent from an upstream service to a downstream one, at a cost per record."""

    upstream: str
    downstream: str
    amount: float
    cost: float


@dataclass(frozen=True)
class ServiceMatching:
    """All flows between two adjacent operations, sorted by (upstream, downstream) order."""

    flows: tuple[Flow, ...]
    total_flow: float
    total_cost: float
    algorithm: str

    @property
    def stability(self) -> float:
        """Velocity / cost, the paper's theta."""
        return stability(self.total_flow, self.total_cost)

    def to_dict(self) -> dict:
        return {"algorithm": self.algorithm, "total_flow": self.total_flow,
                "total_cost": self.total_cost,
                "flows": [[f.upstream, f.downstream, f.amount, f.cost] for f in self.flows]}

    @classmethod
    def from_dict(cls, data: Mapping) -> ServiceMatching:
        flows = tuple(Flow(str(u), str(d), float(a), float(c)) for u, d, a, c in data["flows"])
        return cls(flows, float(data["total_flow"]), float(data["total_cost"]),
                   str(data["algorithm"]))


def _by_node(endpoints: Sequence[Endpoint]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index, endpoint in enumerate(endpoints):
        groups.setdefault(endpoint.node, []).append(index)
    return groups


def _split(node_flow: Transport, up: Sequence[Endpoint], down: Sequence[Endpoint],
           up_groups: list[list[int]], down_groups: list[list[int]]) -> np.ndarray:
    """Spread each node-to-node flow over the services of both nodes, first services first."""
    left_up = np.array([e.velocity for e in up], dtype=float)
    left_down = np.array([e.velocity for e in down], dtype=float)
    flow = np.zeros((len(up), len(down)))
    cursor_up = [0] * len(up_groups)
    cursor_down = [0] * len(down_groups)
    for a, b in zip(*np.nonzero(node_flow.flow)):
        amount = float(node_flow.flow[a, b])
        while amount > 0:
            # Rounding can leave a sliver beyond the last service: the node totals are exact.
            if cursor_up[a] >= len(up_groups[a]) or cursor_down[b] >= len(down_groups[b]):
                break
            i = up_groups[a][cursor_up[a]]
            j = down_groups[b][cursor_down[b]]
            moved = min(amount, left_up[i], left_down[j])
            flow[i, j] += moved
            amount -= moved
            left_up[i] -= moved
            left_down[j] -= moved
            cursor_up[a] += left_up[i] <= 0
            cursor_down[b] += left_down[j] <= 0
    return flow


def _validate(up: Sequence[Endpoint], down: Sequence[Endpoint],
              nodes: Mapping[str, NodeTopology], algorithm: str) -> None:
    require(algorithm in ALGORITHMS, MatchingInputError, "algorithm",
            f"must be one of {', '.join(ALGORITHMS)}", algorithm)
    for side, endpoints in (("upstream", up), ("downstream", down)):
        seen: set[str] = set()
        for k, e in enumerate(endpoints):
            require(e.service_id not in seen, MatchingInputError,
                    f"{side}[{k}].service_id", "must be unique", e.service_id)
            seen.add(e.service_id)
            require(e.node in nodes, MatchingInputError, f"{side}[{k}].node",
                    "must name a known node", e.node)
            require(isinstance(e.velocity, (int, float)) and math.isfinite(e.velocity)
                    and e.velocity >= 0, MatchingInputError, f"{side}[{k}].velocity",
                    "must be a finite number >= 0", e.velocity)


def match_services(upstream: Sequence[Endpoint], downstream: Sequence[Endpoint],
                   nodes: Mapping[str, NodeTopology], *,
                   algorithm: Algorithm = "hierarchical",
                   forbidden: frozenset[tuple[str, str]] = frozenset(),
                   caps: Mapping[tuple[str, str], float] | None = None) -> ServiceMatching:
    """Match upstream to downstream services: maximum flow, then minimum topology cost.

    Parameters
    ----------
    upstream, downstream : sequence of Endpoint
        Services of two adjacent operations; velocities are supplies and demands.
    nodes : mapping of str to NodeTopology
        Every node a service runs on, by name.
    algorithm : {"hierarchical", "exact", "greedy", "greedy-per-service", "round-robin"}
        The two exact ones give equal flow and cost; the others are yardsticks.
    forbidden : frozenset of (upstream id, downstream id)
        Pairs that may not carry flow. With forbidden pairs or caps, the exact solver runs on
        the services themselves (the result says ``algorithm="exact"``).
    caps : mapping of (upstream id, downstream id) to float, optional
        Most records/s a pair may carry.

    Returns
    -------
    ServiceMatching
        Flows with amount > 0 in upstream-then-downstream order.
    """
    _validate(upstream, downstream, nodes, algorithm)
    if algorithm in _BASELINES or forbidden or caps:
        flow, costs, name = _match_per_service(upstream, downstream, nodes, algorithm,
                                               forbidden, caps or {})
    else:
        flow, costs, name = _match_per_node(upstream, downstream, nodes, algorithm)
    rows, cols = np.nonzero(flow > 0)
    flows = tuple(
        Flow(upstream[i].service_id, downstream[j].service_id, float(flow[i, j]),
             float(costs(i, j)))
        for i, j in zip(rows.tolist(), cols.tolist()))
    total_cost = sum(f.amount * f.cost for f in flows)
    return ServiceMatching(flows, float(flow.sum()), float(total_cost), name)


CostOf = Callable[[int, int], float]


def _match_per_service(upstream: Sequence[Endpoint], downstream: Sequence[Endpoint],
                       nodes: Mapping[str, NodeTopology], algorithm: str,
                       forbidden: frozenset[tuple[str, str]],
                       caps: Mapping[tuple[str, str], float]) -> tuple[np.ndarray, CostOf, str]:
    costs = distance_matrix([nodes[e.node].path for e in upstream],
                            [nodes[e.node].path for e in downstream])
    up_index = {e.service_id: i for i, e in enumerate(upstream)}
    down_index = {e.service_id: j for j, e in enumerate(downstream)}
    blocked = np.zeros(costs.shape, dtype=bool)
    cap = np.full(costs.shape, np.inf)
    # Pairs naming services that are not here (gone since the rule was written) are moot.
    for u, d in forbidden:
        if u in up_index and d in down_index:
            blocked[up_index[u], down_index[d]] = True
    for (u, d), value in caps.items():
        if u in up_index and d in down_index:
            cap[up_index[u], down_index[d]] = value
    solve = _BASELINES.get(algorithm, min_cost_max_flow)
    result = solve([e.velocity for e in upstream], [e.velocity for e in downstream], costs,
                   forbidden=blocked, caps=cap)
    return result.flow, lambda i, j: costs[i, j], result.algorithm


def _match_per_node(upstream: Sequence[Endpoint], downstream: Sequence[Endpoint],
                    nodes: Mapping[str, NodeTopology],
                    algorithm: str) -> tuple[np.ndarray, CostOf, str]:
    up_nodes, down_nodes = _by_node(upstream), _by_node(downstream)
    up_groups, down_groups = list(up_nodes.values()), list(down_nodes.values())
    node_up = [nodes[name].path for name in up_nodes]
    node_down = [nodes[name].path for name in down_nodes]
    node_supply = [sum(upstream[i].velocity for i in g) for g in up_groups]
    node_demand = [sum(downstream[j].velocity for j in g) for g in down_groups]
    node_costs = distance_matrix(node_up, node_down)
    if algorithm == "exact":
        node_flow = min_cost_max_flow(node_supply, node_demand, node_costs)
    else:
        node_flow = hierarchical_transport(node_supply, node_demand, node_up, node_down)
    group_of_up = {i: a for a, g in enumerate(up_groups) for i in g}
    group_of_down = {j: b for b, g in enumerate(down_groups) for j in g}
    flow = _split(node_flow, upstream, downstream, up_groups, down_groups)
    return flow, lambda i, j: node_costs[group_of_up[i], group_of_down[j]], algorithm
