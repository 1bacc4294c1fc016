"""networkx as an independent oracle for the matching solvers (tests and the benchmark).

networkx is a test/benchmark dependency, never needed by ``faas-etl simulate``, so it is
imported here only, lazily. Its network simplex is exact for integer capacities and weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["OracleResult", "networkx_min_cost_max_flow"]


@dataclass(frozen=True)
class OracleResult:
    total_flow: int
    total_cost: int


def networkx_min_cost_max_flow(supplies: ArrayLike, demands: ArrayLike, costs: ArrayLike,
                               forbidden: ArrayLike | None = None,
                               caps: ArrayLike | None = None) -> OracleResult:
    """Max flow at min cost by ``networkx.max_flow_min_cost`` (integer inputs only)."""
    import networkx as nx

    s = np.asarray(supplies, dtype=np.int64)
    d = np.asarray(demands, dtype=np.int64)
    c = np.asarray(costs)
    m, n = c.shape
    blocked = np.zeros((m, n), dtype=bool) if forbidden is None else np.asarray(forbidden)
    graph = nx.DiGraph()
    for i in range(m):
        graph.add_edge("source", ("up", i), capacity=int(s[i]), weight=0)
    for j in range(n):
        graph.add_edge(("down", j), "sink", capacity=int(d[j]), weight=0)
    for i in range(m):
        for j in range(n):
            if blocked[i, j]:
                continue
            edge = {"weight": int(c[i, j])}
            if caps is not None and np.isfinite(caps[i][j]):
                edge["capacity"] = int(caps[i][j])  # no attribute means uncapacitated
            graph.add_edge(("up", i), ("down", j), **edge)
    flow = nx.max_flow_min_cost(graph, "source", "sink")
    total = sum(flow["source"].values())
    return OracleResult(int(total), int(nx.cost_of_flow(graph, flow)))
