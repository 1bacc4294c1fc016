"""Greedy load balancing (GLB) of services over nodes.

A node's load is the sum of the weights of the services on it (plus load the scheduler does not
own). New services go one at a time to the least-loaded node with room, so a burst of additions
spreads instead of piling onto the node that was emptiest before the burst; removals come off
the most-loaded node hosting a removable service. Load is compared relative to capacity so
that a big node is not treated as full as early as a small one; with equal capacities this is
the paper's rule.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .observation import Node, Operation
from .state import AddedService

__all__ = ["node_loads", "place_services", "choose_removals"]

_ROOM = 1e-9  # a node filled exactly to capacity by float weights still counts as having room


def node_loads(nodes: Iterable[Node], operations: Iterable[Operation]) -> dict[str, float]:
    """Weighted load per node: background load plus each service's operation weight."""
    loads = {node.name: node.background_load for node in nodes}
    for op in operations:
        for service in op.services:
            loads[service.node] += op.weight
    return loads


def _pressure(node: Node, load: float) -> tuple[float, float, str]:
    # Sort key: relative load, then absolute load, then name, so ties resolve the same way.
    return (load / node.capacity, load, node.name)


def place_services(count: int, weight: float, nodes: Sequence[Node],
                   loads: dict[str, float]) -> list[str]:
    """Choose a node for each of ``count`` new services; updates ``loads`` in place.

    Returns fewer than ``count`` nodes when no node has room for another service.
    """
    chosen: list[str] = []
    for _ in range(count):
        fits = [n for n in nodes if loads[n.name] + weight <= n.capacity * (1 + _ROOM)]
        if not fits:
            break
        best = min(fits, key=lambda n: _pressure(n, loads[n.name]))
        loads[best.name] += weight
        chosen.append(best.name)
    return chosen


def choose_removals(count: int, weight: float, candidates: Sequence[AddedService],
                    nodes: Mapping[str, Node], loads: dict[str, float]) -> list[AddedService]:
    """Pick ``count`` of ``candidates`` (oldest first) to remove; updates ``loads`` in place.

    Each removal takes the candidate on the most-loaded node, the newest one among equals.
    """
    left = list(candidates)
    removed: list[AddedService] = []
    for _ in range(min(count, len(left))):
        # max() keeps the first maximum, so scanning newest first breaks ties towards newest.
        pick = max(reversed(left), key=lambda a: _pressure(nodes[a.node], loads[a.node])[:2])
        left.remove(pick)
        loads[pick.node] -= weight
        removed.append(pick)
    return removed
