"""Exact min-cost max-flow for the upstream -> downstream transport problem.

Primal-dual successive shortest paths on the bipartite residual network, with residual
reverse arcs (so flow already placed can be re-routed, which is what greedy matchers lack):

1. shortest distances from the super-source (every upstream service with supply left) by a
   label-correcting pass vectorised over the dense bipartite arcs;
2. a blocking flow along admissible arcs (those on a shortest path), one breadth-first
   augmenting path at a time, lowest index first, so equal instances give equal flows;
3. repeat until no downstream service with demand left is reachable: the flow is maximum and,
   having only ever grown along shortest paths, of minimum cost among maximum flows.

Every amount and cost is an integer (:mod:`.exact` scales fractions to a common unit), so a
flow of 1 beside one of 10**12 is kept and costs of 10**9 and 10**9 - 1 are told apart: the
solver compares with ``==`` and ``<``, never within a tolerance.

Adding a constant to every cost adds ``constant * total flow`` to every maximum flow's cost, so
negative costs are shifted to start at zero without changing which flow is optimal.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .transport import Transport, TransportInstance, validate_instance

__all__ = ["min_cost_max_flow", "solve_instance"]


class _Residual:
    """Residual state of one solve: what is left at each end, and per pair what can move."""

    def __init__(self, inst: TransportInstance) -> None:
        self.supply_left = inst.supplies.copy()
        self.demand_left = inst.demands.copy()
        self.forward_left = inst.capacity.copy()  # room left on i -> j
        self.flow = np.zeros_like(inst.capacity)  # room on the reverse arc j -> i
        self.forward_open = self.forward_left > 0
        self.reverse_open = np.zeros_like(self.forward_open)

    def augment(self, start: int, path: list[tuple[int, int]], end: int) -> None:
        """Push the bottleneck along ``path``: (i, j) pairs, alternately forward then reverse."""
        amount = min(self.supply_left[start], self.demand_left[end])
        for k, (i, j) in enumerate(path):
            room = self.forward_left[i, j] if k % 2 == 0 else self.flow[i, j]
            amount = min(amount, room)
        self.supply_left[start] -= amount
        self.demand_left[end] -= amount
        for k, (i, j) in enumerate(path):
            signed = amount if k % 2 == 0 else -amount
            self.flow[i, j] += signed
            self.forward_left[i, j] -= signed
            self.forward_open[i, j] = self.forward_left[i, j] > 0
            self.reverse_open[i, j] = self.flow[i, j] > 0


def _distances(res: _Residual, costs: np.ndarray,
               unreached: int) -> tuple[np.ndarray, np.ndarray]:
    """Shortest distances from the super-source to every upstream and downstream node.

    Bellman-Ford restricted to the nodes improved in the previous round; the residual network
    of a min-cost flow has no negative cycle, so it terminates. ``unreached`` exceeds every
    path length and marks a node no path reaches.
    """
    up = np.where(res.supply_left > 0, 0, unreached).astype(costs.dtype)
    down = np.full(costs.shape[1], unreached, dtype=costs.dtype)
    active = np.flatnonzero(up == 0)
    while active.size:
        via = np.where(res.forward_open[active], up[active, None] + costs[active],
                       unreached).min(0)
        better = via < down
        if not better.any():
            break
        down = np.where(better, via, down)
        cols = np.flatnonzero(better)
        back = np.where(res.reverse_open[:, cols], down[cols] - costs[:, cols],
                        unreached).min(1)
        improved = back < up
        up = np.where(improved, back, up)
        active = np.flatnonzero(improved)
    return up, down


def _admissible_path(res: _Residual, admissible: np.ndarray, starts: np.ndarray,
                     ends: np.ndarray) -> tuple[int, list[tuple[int, int]], int] | None:
    """Breadth-first search for an augmenting path on admissible arcs, lowest index first."""
    m, n = admissible.shape
    seen_up = starts.copy()
    seen_down = np.zeros(n, dtype=bool)
    parent_of_down = np.full(n, -1)
    parent_of_up = np.full(m, -1)
    frontier = np.flatnonzero(starts)
    while frontier.size:
        reach = admissible[frontier] & res.forward_open[frontier] & ~seen_down
        new_down = np.flatnonzero(reach.any(axis=0))
        if new_down.size == 0:
            return None
        parent_of_down[new_down] = frontier[reach[:, new_down].argmax(axis=0)]
        seen_down[new_down] = True
        hits = new_down[ends[new_down]]
        if hits.size:
            end = int(hits[0])
            path: list[tuple[int, int]] = []
            j = end
            while True:
                i = int(parent_of_down[j])
                path.append((i, j))
                if parent_of_up[i] < 0:
                    path.reverse()
                    return i, path, end
                j = int(parent_of_up[i])
                path.append((i, j))
        back = (admissible[:, new_down] & res.reverse_open[:, new_down]).T & ~seen_up
        frontier = np.flatnonzero(back.any(axis=0))
        parent_of_up[frontier] = new_down[back[:, frontier].argmax(axis=0)]
        seen_up[frontier] = True
    return None


def _path_costs(inst: TransportInstance) -> tuple[np.ndarray, int]:
    """Costs shifted to start at 0, and a length no path reaches.

    A path alternates forward arcs (+cost) and reverse arcs (-cost) over at most m + n nodes,
    so every length lies within ``(m + n) * max cost`` of 0. int64 while three times that
    bound fits (a sum of an unreached mark and a cost stays in range), else Python ints.
    """
    m, n = inst.costs.shape
    open_pairs = inst.capacity > 0
    low = inst.costs[open_pairs].min() if open_pairs.any() else 0
    costs = np.where(open_pairs, inst.costs - low, 0)
    unreached = (m + n + 1) * (int(costs.max()) + 1)
    if costs.dtype == object or 3 * unreached >= 2**63:
        return costs.astype(object), unreached
    return costs.astype(np.int64), unreached


def solve_instance(inst: TransportInstance, algorithm: str = "exact") -> Transport:
    """Solve an already validated instance (see :func:`min_cost_max_flow`)."""
    m, n = inst.costs.shape
    if m == 0 or n == 0:
        return Transport.from_units(np.zeros((m, n), dtype=np.int64), inst.costs,
                                    inst.amount_unit, inst.cost_unit, algorithm)
    costs, unreached = _path_costs(inst)
    res = _Residual(inst)
    while (res.supply_left > 0).any() and (res.demand_left > 0).any():
        up, down = _distances(res, costs, unreached)
        wanted = res.demand_left > 0
        best = down[wanted].min() if wanted.any() else unreached
        if best >= unreached:
            break  # no downstream service with demand left is reachable: the flow is maximum
        near_up = up <= best
        near_down = down <= best
        tight = up[:, None] + costs == down[None, :]
        admissible = tight & near_up[:, None] & near_down[None, :]
        ends = wanted & (down == best)
        while True:
            starts = (res.supply_left > 0) & (up == 0)
            found = _admissible_path(res, admissible, starts, ends & (res.demand_left > 0))
            if found is None:
                break
            res.augment(*found)
    return Transport.from_units(res.flow, inst.costs, inst.amount_unit, inst.cost_unit,
                                algorithm)


def min_cost_max_flow(supplies: ArrayLike, demands: ArrayLike, costs: ArrayLike, *,
                      forbidden: ArrayLike | None = None,
                      caps: ArrayLike | None = None) -> Transport:
    """Maximum flow from upstream to downstream services at minimum total cost.

    Parameters
    ----------
    supplies : array_like, shape (m,)
        Velocity each upstream service can send (records/s), >= 0.
    demands : array_like, shape (n,)
        Velocity each downstream service can take (records/s), >= 0.
    costs : array_like, shape (m, n)
        Cost per unit of flow on each pair; any finite value (negative allowed).
    forbidden : array_like of bool, shape (m, n), optional
        True where a pair may not carry flow (its cost is then ignored, NaN included).
    caps : array_like, shape (m, n), optional
        Most flow a pair may carry (inf for no cap).

    Returns
    -------
    Transport
        ``flow`` of maximum total, and among those of minimum cost, found exactly: integer
        inputs give integer flows and totals (``int``, any size); fractional ones are solved
        in a common unit and only the reported numbers are rounded to the nearest float.
        Ties are broken towards lower indices, so output is deterministic.

    Raises
    ------
    MatchingInputError
        Naming the first invalid entry.

    Examples
    --------
    The counterexample to cheapest-pair-first (which takes (0, 0) and pays 0 + 6):

    >>> t = min_cost_max_flow([1, 1], [1, 1], [[0, 2], [2, 6]])
    >>> t.total_flow, t.total_cost
    (2, 4)
    """
    return solve_instance(validate_instance(supplies, demands, costs, forbidden, caps))
