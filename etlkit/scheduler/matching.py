"""Matching the services of one operation to those of the next, by service id.

With pure topology costs, every service on a node has the same cost row, so services are
summed per node, the node-level instance is solved exactly (it is tiny: nodes, not services),
and each node-to-node flow is split over the services of both nodes in order. Any split costs
the same, so the result stays optimal; this is what makes 500 x 500 services cheap. Forbidden
pairs or link caps break the symmetry between services of a node, so then the exact solver runs
on the services themselves. Velocities and caps are turned into integers of one unit first, so
node sums, solves and splits are exact, and numbers go back to ints or floats only at the end.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal, Union

import numpy as np

from .baselines import greedy_pairs, greedy_per_service, round_robin
from .errors import MatchingInputError, require
from .exact import from_units, is_number, number_array, to_units
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


Number = Union[int, float, Decimal, Fraction]


@dataclass(frozen=True)
class Endpoint:
    """One service as the matcher sees it: where it runs and how fast it can go (records/s).

    ``velocity`` is any finite number >= 0: an int of any size, a float, or a Decimal (how
    the exact JSON reader gives a number a double cannot hold).
    """

    service_id: str
    node: str
    velocity: Number


@dataclass(frozen=True)
class Flow:
    """Records/s sent from an upstream service to a downstream one, at a cost per record.

    ``amount`` and ``cost`` are ints where the exact value is an integer (any size), else the
    nearest float.
    """

    upstream: str
    downstream: str
    amount: int | float
    cost: int | float


def _number(value: object) -> int | float:
    # An int read from JSON stays an int: float() would round one past 2**53.
    return value if type(value) is int else float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ServiceMatching:
    """All flows between two adjacent operations, sorted by (upstream, downstream) order."""

    flows: tuple[Flow, ...]
    total_flow: int | float
    total_cost: int | float
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
        flows = tuple(Flow(str(u), str(d), _number(a), _number(c))
                      for u, d, a, c in data["flows"])
        return cls(flows, _number(data["total_flow"]), _number(data["total_cost"]),
                   str(data["algorithm"]))


def _by_node(endpoints: Sequence[Endpoint]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index, endpoint in enumerate(endpoints):
        groups.setdefault(endpoint.node, []).append(index)
    return groups


Pairs = list[tuple[int, int, int]]  # (upstream index, downstream index, amount in units)


def _split(node_flow: Transport, up: list[int], down: list[int], up_groups: list[list[int]],
           down_groups: list[list[int]]) -> Pairs:
    """Spread each node-to-node flow over the services of both nodes, first services first.

    Integers throughout: a node's flow never exceeds the sum of its services' velocities, so
    the services of a node always absorb it exactly.
    """
    left_up, left_down = list(up), list(down)
    cursor_up = [0] * len(up_groups)
    cursor_down = [0] * len(down_groups)
    moved_between: dict[tuple[int, int], int] = {}
    for a, b in zip(*np.nonzero(node_flow.flow)):
        amount = int(node_flow.flow[a, b])
        while amount > 0:
            i = up_groups[a][cursor_up[a]]
            j = down_groups[b][cursor_down[b]]
            moved = min(amount, left_up[i], left_down[j])
            moved_between[i, j] = moved_between.get((i, j), 0) + moved
            amount -= moved
            left_up[i] -= moved
            left_down[j] -= moved
            cursor_up[a] += left_up[i] == 0
            cursor_down[b] += left_down[j] == 0
    return sorted((i, j, amount) for (i, j), amount in moved_between.items() if amount)


def _validate(up: Sequence[Endpoint], down: Sequence[Endpoint],
              nodes: Mapping[str, NodeTopology], algorithm: str,
              caps: Mapping[tuple[str, str], Number]) -> None:
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
            require(is_number(e.velocity) and e.velocity >= 0, MatchingInputError,
                    f"{side}[{k}].velocity", "must be a finite number >= 0", e.velocity)
    for (u, d), value in caps.items():
        require((is_number(value) and value >= 0) or value == math.inf, MatchingInputError,
                f"caps[{u}, {d}]", "must be a number >= 0 (inf for no cap)", value)


def match_services(upstream: Sequence[Endpoint], downstream: Sequence[Endpoint],
                   nodes: Mapping[str, NodeTopology], *,
                   algorithm: Algorithm = "hierarchical",
                   forbidden: frozenset[tuple[str, str]] = frozenset(),
                   caps: Mapping[tuple[str, str], Number] | None = None) -> ServiceMatching:
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
    caps : mapping of (upstream id, downstream id) to number, optional
        Most records/s a pair may carry.

    Returns
    -------
    ServiceMatching
        Flows with amount > 0 in upstream-then-downstream order. Velocities, caps and costs
        are matched as exact integers of one common unit (:mod:`.exact`), so integer
        velocities of any size give integer amounts and totals, exactly.
    """
    caps = caps or {}
    _validate(upstream, downstream, nodes, algorithm, caps)
    finite_caps = {pair: value for pair, value in caps.items() if value != math.inf}
    (up, down, cap_values), unit = to_units(
        [number_array([e.velocity for e in side]) for side in (upstream, downstream)]
        + [number_array(list(finite_caps.values()))])
    up_units, down_units = [int(v) for v in up], [int(v) for v in down]
    cap_units = {pair: int(v) for pair, v in zip(finite_caps, cap_values)}
    if algorithm in _BASELINES or forbidden or finite_caps:
        pairs, costs, name = _match_per_service(upstream, downstream, up_units, down_units,
                                                nodes, algorithm, forbidden, cap_units)
    else:
        pairs, costs, name = _match_per_node(upstream, downstream, up_units, down_units,
                                             nodes, algorithm)
    priced = [(i, j, amount, costs(i, j)) for i, j, amount in pairs]
    flows = tuple(Flow(upstream[i].service_id, downstream[j].service_id,
                       from_units(amount, unit), cost) for i, j, amount, cost in priced)
    total_flow = sum(amount for _, _, amount, _ in priced)
    total_cost = sum(amount * cost for _, _, amount, cost in priced)
    return ServiceMatching(flows, from_units(total_flow, unit), from_units(total_cost, unit),
                           name)


CostOf = Callable[[int, int], int]


def _match_per_service(upstream: Sequence[Endpoint], downstream: Sequence[Endpoint],
                       up_units: list[int], down_units: list[int],
                       nodes: Mapping[str, NodeTopology], algorithm: str,
                       forbidden: frozenset[tuple[str, str]],
                       caps: Mapping[tuple[str, str], int]) -> tuple[Pairs, CostOf, str]:
    costs = distance_matrix([nodes[e.node].path for e in upstream],
                            [nodes[e.node].path for e in downstream])
    up_index = {e.service_id: i for i, e in enumerate(upstream)}
    down_index = {e.service_id: j for j, e in enumerate(downstream)}
    blocked = np.zeros(costs.shape, dtype=bool)
    cap = None
    # Pairs naming services that are not here (gone since the rule was written) are moot.
    for u, d in forbidden:
        if u in up_index and d in down_index:
            blocked[up_index[u], down_index[d]] = True
    for (u, d), value in caps.items():
        if u in up_index and d in down_index:
            if cap is None:
                cap = np.full(costs.shape, math.inf, dtype=object)
            cap[up_index[u], down_index[d]] = value
    solve = _BASELINES.get(algorithm, min_cost_max_flow)
    result = solve(number_array(up_units), number_array(down_units), costs,
                   forbidden=blocked, caps=cap)
    rows, cols = np.nonzero(result.flow)
    pairs = [(i, j, int(result.flow[i, j])) for i, j in zip(rows.tolist(), cols.tolist())]
    return pairs, lambda i, j: int(costs[i, j]), result.algorithm


def _match_per_node(upstream: Sequence[Endpoint], downstream: Sequence[Endpoint],
                    up_units: list[int], down_units: list[int],
                    nodes: Mapping[str, NodeTopology],
                    algorithm: str) -> tuple[Pairs, CostOf, str]:
    up_nodes, down_nodes = _by_node(upstream), _by_node(downstream)
    up_groups, down_groups = list(up_nodes.values()), list(down_nodes.values())
    node_up = [nodes[name].path for name in up_nodes]
    node_down = [nodes[name].path for name in down_nodes]
    node_supply = number_array([sum(up_units[i] for i in g) for g in up_groups])
    node_demand = number_array([sum(down_units[j] for j in g) for g in down_groups])
    node_costs = distance_matrix(node_up, node_down)
    if algorithm == "exact":
        node_flow = min_cost_max_flow(node_supply, node_demand, node_costs)
    else:
        node_flow = hierarchical_transport(node_supply, node_demand, node_up, node_down)
    group_of_up = {i: a for a, g in enumerate(up_groups) for i in g}
    group_of_down = {j: b for b, g in enumerate(down_groups) for j in g}
    pairs = _split(node_flow, up_units, down_units, up_groups, down_groups)
    return pairs, lambda i, j: int(node_costs[group_of_up[i], group_of_down[j]]), algorithm
