"""The transport instance every matcher solves, its validation, and its result.

Upstream services supply their velocity, downstream services demand theirs, a cost per pair
(topology distance by default); some pairs may be forbidden and some links capped. The goal of
the exact solvers is the maximum total flow at the minimum cost among maximum flows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .errors import MatchingInputError

__all__ = ["Transport", "TransportInstance", "validate_instance", "stability"]


@dataclass(frozen=True)
class TransportInstance:
    """A validated instance: float arrays, ``capacity`` 0 on forbidden pairs, inf if uncapped."""

    supplies: np.ndarray
    demands: np.ndarray
    costs: np.ndarray
    capacity: np.ndarray

    @property
    def amount_tolerance(self) -> float:
        """Amounts below this are rounding left-overs, not flow (integer inputs leave none)."""
        scale = max(1.0, float(self.supplies.sum()), float(self.demands.sum()))
        return 1e-12 * scale


@dataclass(frozen=True)
class Transport:
    """A solution: ``flow[i, j]`` from upstream i to downstream j, and its totals.

    ``flow`` is read-only so a result can be shared without copying.
    """

    flow: np.ndarray
    total_flow: float
    total_cost: float
    algorithm: str

    @classmethod
    def from_flow(cls, flow: np.ndarray, costs: np.ndarray, algorithm: str) -> Transport:
        """Freeze ``flow`` and total it; costs of pairs that carry nothing are never read."""
        flow = np.array(flow, dtype=float)
        flow.setflags(write=False)
        used = flow > 0
        total_cost = float((flow[used] * costs[used]).sum())
        return cls(flow, float(flow.sum()), total_cost, algorithm)


def stability(total_flow: float, total_cost: float) -> float:
    """The paper's stability theta = velocity / cost of a matching (inf when the cost is 0)."""
    if total_cost <= 0.0:
        return float("inf") if total_flow > 0 else 0.0
    return total_flow / total_cost


def _vector(values: ArrayLike, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise MatchingInputError(name, "must be a sequence of numbers") from exc
    if array.ndim != 1:
        raise MatchingInputError(name, "must be one-dimensional", array.shape)
    bad = np.flatnonzero(~np.isfinite(array) | (array < 0))
    if bad.size:
        i = int(bad[0])
        raise MatchingInputError(f"{name}[{i}]", "must be finite and >= 0", float(array[i]))
    return array


def _matrix(values: ArrayLike, name: str, shape: tuple[int, int], dtype: type) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise MatchingInputError(name, f"must be a {shape[0]}x{shape[1]} matrix") from exc
    if array.shape != shape:
        raise MatchingInputError(name, f"must have shape {shape} (upstream x downstream)",
                                 array.shape)
    return array


def _first_bad(mask: np.ndarray) -> tuple[int, int] | None:
    bad = np.argwhere(mask)
    return None if bad.size == 0 else (int(bad[0][0]), int(bad[0][1]))


def validate_instance(supplies: ArrayLike, demands: ArrayLike, costs: ArrayLike,
                      forbidden: ArrayLike | None = None,
                      caps: ArrayLike | None = None) -> TransportInstance:
    """Check an instance in labelled phases and return it as float arrays.

    Raises
    ------
    MatchingInputError
        Naming the first culprit: ``supplies[i]``, ``demands[j]``, ``costs[i, j]``,
        ``caps[i, j]`` or a whole argument with a wrong shape.
    """
    # Phase 1: supplies and demands are finite, non-negative vectors.
    s = _vector(supplies, "supplies")
    d = _vector(demands, "demands")
    shape = (s.size, d.size)
    # Phase 2: masks and caps have the instance's shape and sane values.
    blocked = (np.zeros(shape, dtype=bool) if forbidden is None
               else _matrix(forbidden, "forbidden", shape, bool))
    cap = (np.full(shape, np.inf) if caps is None else _matrix(caps, "caps", shape, float))
    culprit = _first_bad(np.isnan(cap) | (cap < 0))
    if culprit is not None:
        raise MatchingInputError(f"caps[{culprit[0]}, {culprit[1]}]",
                                 "must be >= 0 (inf for no cap)", float(cap[culprit]))
    # Phase 3: every pair that may carry flow has a finite cost (forbidden ones are ignored).
    c = _matrix(costs, "costs", shape, float)
    open_pairs = ~blocked & (cap > 0)
    culprit = _first_bad(open_pairs & ~np.isfinite(c))
    if culprit is not None:
        raise MatchingInputError(f"costs[{culprit[0]}, {culprit[1]}]",
                                 "must be finite on an allowed pair", float(c[culprit]))
    c = np.where(open_pairs, c, 0.0)
    return TransportInstance(s, d, c, np.where(open_pairs, cap, 0.0))
