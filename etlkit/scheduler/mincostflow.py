"""Exact min-cost max-flow for the upstream -> downstream transport problem.

Primal-dual successive shortest paths on the bipartite residual network, with residual
reverse arcs (so flow already placed can be re-routed, which is what greedy matchers lack):

1. shortest distances from the super-source (every upstream service with supply left) by a
   label-correcting pass vectorised over the dense bipartite arcs;
2. a blocking flow along admissible arcs (those on a shortest path), one breadth-first
   augmenting path at a time, lowest index first, so equal instances give equal flows;
3. repeat until no downstream service with demand left is reachable: the flow is maximum and,
   having only ever grown along shortest paths, of minimum cost among maximum flows.

Adding a constant to every cost adds ``constant * total flow`` to every maximum flow's cost, so
negative costs are shifted to start at zero without changing which flow is optimal.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .transport import Transport, TransportInstance, validate_instance

__all__ = ["min_cost_max_flow", "solve_instance"]

_INF = np.inf


class _Residual:
    """Residual state of one solve: what is left at each end, and per pair what can move."""

    def __init__(self, inst: TransportInstance) -> None:
        self.eps = inst.amount_tolerance
        self.supply_left = inst.supplies.copy()
        self.demand_left = inst.demands.copy()
        self.forward_left = inst.capacity.copy()  # room left on i -> j
        self.flow = np.zeros_like(inst.capacity)  # room on the reverse arc j -> i
        self.forward_open = self.forward_left > self.eps
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
            sign = 1.0 if k % 2 == 0 else -1.0
            self.flow[i, j] += sign * amount
            self.forward_left[i, j] -= sign * amount
            self.forward_open[i, j] = self.forward_left[i, j] > self.eps
            self.reverse_open[i, j] = self.flow[i, j] > self.eps


def _distances(res: _Residual, costs: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Shortest distances from the super-source to every upstream and downstream node.

    Bellman-Ford restricted to the nodes improved in the previous round; the residual network
    of a min-cost flow has no negative cycle, so it terminates.
    """
    up = np.where(res.supply_left > res.eps, 0.0, _INF)
    down = np.full(costs.shape[1], _INF)
    active = np.flatnonzero(up == 0.0)
    while active.size:
        via = np.where(res.forward_open[active], up[active, None] + costs[active], _INF).min(0)
        better = via < down - tol
        if not better.any():
            break
        down = np.where(better, via, down)
        cols = np.flatnonzero(better)
        back = np.where(res.reverse_open[:, cols], down[cols] - costs[:, cols], _INF).min(1)
        improved = back < up - tol
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


def solve_instance(inst: TransportInstance, algorithm: str = "exact") -> Transport:
    """Solve an already validated instance (see :func:`min_cost_max_flow`)."""
    m, n = inst.costs.shape
    if m == 0 or n == 0:
        return Transport.from_flow(np.zeros((m, n)), inst.costs, algorithm)
    open_pairs = inst.capacity > 0
    low = float(inst.costs[open_pairs].min()) if open_pairs.any() else 0.0
    costs = np.where(open_pairs, inst.costs - low, 0.0)
    # Path lengths are sums of at most m + n costs; equal-length paths must compare equal.
    tol = 1e-9 * max(1.0, float(costs.max())) * (m + n)
    res = _Residual(inst)
    while (res.supply_left > res.eps).any() and (res.demand_left > res.eps).any():
        up, down = _distances(res, costs, tol)
        wanted = res.demand_left > res.eps
        best = float(down[wanted].min()) if wanted.any() else _INF
        if not np.isfinite(best):
            break  # no downstream service with demand left is reachable: the flow is maximum
        near_up = up <= best + tol
        near_down = down <= best + tol
        with np.errstate(invalid="ignore"):
            tight = np.abs(up[:, None] + costs - down[None, :]) <= tol
        admissible = tight & near_up[:, None] & near_down[None, :]
        ends = wanted & (down <= best + tol)
        while True:
            starts = (res.supply_left > res.eps) & (up <= tol)
            found = _admissible_path(res, admissible, starts, ends & (res.demand_left > res.eps))
            if found is None:
                break
            res.augment(*found)
    flow = np.where(res.flow > res.eps, res.flow, 0.0)
    return Transport.from_flow(flow, inst.costs, algorithm)


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
        ``flow`` of maximum total, and among those of minimum cost. Exact for integer inputs
        (floats up to rounding). Ties are broken towards lower indices, so output is
        deterministic.

    Raises
    ------
    MatchingInputError
        Naming the first invalid entry.

    Examples
    --------
    The counterexample to cheapest-pair-first (which takes (0, 0) and pays 0 + 6):

    >>> t = min_cost_max_flow([1, 1], [1, 1], [[0, 2], [2, 6]])
    >>> t.total_flow, t.total_cost
    (2.0, 4.0)
    """
    return solve_instance(validate_instance(supplies, demands, costs, forbidden, caps))
