"""Hadoop-style network distance between nodes, from their Kubernetes topology labels.

A node's path is region / zone / host (``topology.kubernetes.io/region``,
``topology.kubernetes.io/zone``, ``kubernetes.io/hostname``). The distance between two nodes is
the number of edges from each up to their closest common ancestor: 0 on the same host, 2 in the
same zone, 4 in the same region, 6 across regions.

A missing label is its own unique value (tied to the node's name), never a shared default: two
unlabelled nodes are not "in the same zone" just because neither says which zone it is in.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import ObservationError, require

__all__ = ["NodeTopology", "TopologyPath", "topology_distance", "distance_matrix", "DEPTH"]

DEPTH = 3  # region, zone, host
TopologyPath = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class NodeTopology:
    """Where a node sits: its name and its (optional) region, zone and hostname labels."""

    name: str
    region: str | None = None
    zone: str | None = None
    hostname: str | None = None

    def __post_init__(self) -> None:
        require(isinstance(self.name, str) and self.name != "", ObservationError,
                "node.name", "must be a non-empty string", self.name)

    @property
    def path(self) -> TopologyPath:
        """``((kind, value), ...)`` from region down to host; unset levels are unique per node."""
        def level(value: str | None) -> tuple[str, str]:
            return ("label", value) if value else ("unset", self.name)

        return (level(self.region), level(self.zone), level(self.hostname))


def topology_distance(a: TopologyPath, b: TopologyPath) -> int:
    """``2 * (depth - common prefix)``: 0 same host, 2 same zone, 4 same region, 6 otherwise.

    >>> topology_distance(NodeTopology("n1", "eu", "a", "n1").path,
    ...                   NodeTopology("n2", "eu", "b", "n2").path)
    4
    """
    common = 0
    for x, y in zip(a, b):
        if x != y:
            break
        common += 1
    return 2 * (len(a) - common)


def distance_matrix(up: Sequence[TopologyPath], down: Sequence[TopologyPath]) -> np.ndarray:
    """Distances between every upstream path (rows) and downstream path (columns), as ints.

    Vectorised: each path prefix gets an integer id, and two paths share a prefix of length L
    exactly when their level-L ids are equal.
    """
    depth = max((len(p) for p in (*up, *down)), default=0)
    shared = np.zeros((len(up), len(down)), dtype=np.int64)
    still_equal = np.ones_like(shared, dtype=bool)
    for level in range(1, depth + 1):
        ids: dict[tuple, int] = {}
        up_ids = np.array([ids.setdefault(tuple(p[:level]), len(ids)) for p in up], dtype=np.int64)
        down_ids = np.array([ids.setdefault(tuple(p[:level]), len(ids)) for p in down],
                            dtype=np.int64)
        still_equal &= up_ids[:, None] == down_ids[None, :]
        shared += still_equal
    return 2 * (depth - shared)
