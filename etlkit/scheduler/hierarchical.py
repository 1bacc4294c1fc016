"""Fast exact transport when every pair may carry flow and costs are pure topology distances.

Topology distances form a hierarchy (an ultrametric times two): a unit sent between different
hosts costs at least 2, between different zones 2 more, between regions 2 more. So the cost of
any maximum flow is ``2 * (units leaving their host) + 2 * (units leaving their zone) + 2 *
(units leaving their region)``, and each term is smallest when as much as possible is matched
inside each host, then inside each zone, then each region. Matching bottom-up does all three
at once, so it is optimal. It is also why cheapest-pair-first happens to be optimal here and
nowhere else: forbidden pairs, link caps or general costs need :mod:`.mincostflow`.

After a level is matched, each group has supply left or demand left, never both; so any two
services still matched at the next level are exactly that level's distance apart, and the
north-west corner rule inside the group costs the same as any other split.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .errors import MatchingInputError
from .exact import ONE
from .topology import TopologyPath
from .transport import Transport, validate_instance

__all__ = ["hierarchical_transport"]


def _groups(paths: Sequence[TopologyPath], level: int) -> dict[tuple, list[int]]:
    """Indices sharing the first ``level`` path elements, in index order (dicts keep it)."""
    groups: dict[tuple, list[int]] = {}
    for index, path in enumerate(paths):
        groups.setdefault(tuple(path[:level]), []).append(index)
    return groups


def hierarchical_transport(supplies: ArrayLike, demands: ArrayLike,
                           up_paths: Sequence[TopologyPath],
                           down_paths: Sequence[TopologyPath]) -> Transport:
    """Exact min-cost max-flow for topology costs on a complete bipartite graph.

    Parameters
    ----------
    supplies, demands : array_like
        Velocities of the upstream and downstream services (>= 0).
    up_paths, down_paths : sequence of TopologyPath
        Each service's topology path (:attr:`NodeTopology.path`), all of the same depth.

    Returns
    -------
    Transport
        Same total flow and cost as :func:`~.mincostflow.min_cost_max_flow` on the
        :func:`~.topology.distance_matrix` costs; deterministic (north-west corner per group).
    """
    if len(up_paths) != len(np.atleast_1d(supplies)):
        raise MatchingInputError("up_paths", "must have one path per supply", len(up_paths))
    if len(down_paths) != len(np.atleast_1d(demands)):
        raise MatchingInputError("down_paths", "must have one path per demand",
                                 len(down_paths))
    depths = {len(p) for p in (*up_paths, *down_paths)}
    if len(depths) > 1:
        raise MatchingInputError("paths", "must all have the same depth", sorted(depths))
    depth = depths.pop() if depths else 0
    m, n = len(up_paths), len(down_paths)
    inst = validate_instance(supplies, demands, np.zeros((m, n)))
    supply_left = inst.supplies.copy()
    demand_left = inst.demands.copy()
    flow = np.zeros((m, n), dtype=inst.capacity.dtype)
    costs = np.zeros((m, n), dtype=np.int64)
    for level in range(depth, -1, -1):
        downs = _groups(down_paths, level)
        for key, ups in _groups(up_paths, level).items():
            partners = downs.get(key)
            if not partners:
                continue
            ups = [i for i in ups if supply_left[i] > 0]
            partners = [j for j in partners if demand_left[j] > 0]
            a = b = 0
            while a < len(ups) and b < len(partners):
                i, j = ups[a], partners[b]
                amount = min(supply_left[i], demand_left[j])
                flow[i, j] += amount
                costs[i, j] = 2 * (depth - level)
                supply_left[i] -= amount
                demand_left[j] -= amount
                a += supply_left[i] <= 0
                b += demand_left[j] <= 0
    return Transport.from_units(flow, costs, inst.amount_unit, ONE, "hierarchical")
