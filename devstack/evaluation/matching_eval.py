"""Matching velocity and cost per algorithm on seeded instances of three families.

* topology: services on random nodes of the simulated cluster, costs = topology distance;
* restricted: the same with forbidden pairs and link caps (where greedy ships short);
* general: arbitrary integer costs (where greedy pays more).

Both sides carry the same total velocity, as two operations sized for one pipeline do.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etlkit.scheduler.baselines import greedy_pairs, greedy_per_service, round_robin
from etlkit.scheduler.hierarchical import hierarchical_transport
from etlkit.scheduler.mincostflow import min_cost_max_flow
from etlkit.scheduler.observation import Node
from etlkit.scheduler.topology import distance_matrix

__all__ = ["MatchingScore", "FAMILIES", "matching_scores"]

FAMILIES = ("topology", "restricted", "general")
_SOLVERS = {"exact": min_cost_max_flow, "greedy": greedy_pairs,
            "greedy-per-service": greedy_per_service, "round-robin": round_robin}


@dataclass(frozen=True)
class MatchingScore:
    """Means over a family's instances: flow (records/s) and cost (distance x records/s)."""

    family: str
    algorithm: str
    velocity: float
    cost: float


def _instance(rng: np.random.Generator, nodes: tuple[Node, ...], family: str):
    m, n = (int(v) for v in rng.integers(5, 40, size=2))
    up = [nodes[i].path for i in rng.integers(len(nodes), size=m)]
    down = [nodes[i].path for i in rng.integers(len(nodes), size=n)]
    supplies = rng.integers(50, 150, m).astype(float)
    demands = rng.integers(50, 150, n).astype(float)
    demands = np.floor(demands * supplies.sum() / demands.sum())
    costs = (distance_matrix(up, down) if family != "general"
             else rng.integers(0, 10, (m, n)).astype(float))
    options = {}
    if family == "restricted":
        options = {"forbidden": rng.random((m, n)) < 0.5,
                   "caps": np.where(rng.random((m, n)) < 0.3, 30.0, np.inf)}
    return supplies, demands, costs, up, down, options


def matching_scores(nodes: tuple[Node, ...], instances: int = 30,
                    seed: int = 0) -> list[MatchingScore]:
    """Score every applicable algorithm on ``instances`` seeded instances per family."""
    scores = []
    for f, family in enumerate(FAMILIES):
        totals: dict[str, list[tuple[float, float]]] = {}
        for k in range(instances):
            rng = np.random.default_rng([seed, f, k])
            supplies, demands, costs, up, down, options = _instance(rng, nodes, family)
            for name, solve in _SOLVERS.items():
                result = solve(supplies, demands, costs, **options)
                totals.setdefault(name, []).append((result.total_flow, result.total_cost))
            if family == "topology":
                result = hierarchical_transport(supplies, demands, up, down)
                totals.setdefault("hierarchical", []).append(
                    (result.total_flow, result.total_cost))
        for name, values in totals.items():
            flow, cost = np.mean(values, axis=0)
            scores.append(MatchingScore(family, name, float(flow), float(cost)))
    return scores
