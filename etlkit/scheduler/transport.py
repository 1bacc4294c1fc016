"""The transport instance every matcher solves, its validation, and its result.

Upstream services supply their velocity, downstream services demand theirs, a cost per pair
(topology distance by default); some pairs may be forbidden and some links capped. The goal of
the exact solvers is the maximum total flow at the minimum cost among maximum flows.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike

from .errors import MatchingInputError
from .exact import ONE, exact_dot, exact_sum, from_units, is_number, number_array, to_units

__all__ = ["Transport", "TransportInstance", "validate_instance", "stability"]


@dataclass(frozen=True)
class TransportInstance:
    """A validated instance in integer units (:mod:`.exact`): a value is ``int * unit``.

    ``supplies``, ``demands`` and ``capacity`` count ``amount_unit``; ``costs`` count
    ``cost_unit``. ``capacity[i, j]`` is the most pair (i, j) can carry: 0 on a forbidden pair
    and never more than ``min(supplies[i], demands[j])``, so an uncapped link needs no infinity.
    ``costs`` is 0 on pairs that can carry nothing.
    """

    supplies: np.ndarray
    demands: np.ndarray
    costs: np.ndarray
    capacity: np.ndarray
    amount_unit: Fraction = ONE
    cost_unit: Fraction = ONE


@dataclass(frozen=True)
class Transport:
    """A solution: ``flow[i, j]`` from upstream i to downstream j, and its totals.

    Exact where the numbers are integers: ``flow`` is then an integer array and the totals are
    ``int`` (any size); otherwise each is the float nearest the exact value. ``flow`` is
    read-only so a result can be shared without copying.
    """

    flow: np.ndarray
    total_flow: int | float
    total_cost: int | float
    algorithm: str

    @classmethod
    def from_units(cls, flow: np.ndarray, costs: np.ndarray, amount_unit: Fraction,
                   cost_unit: Fraction, algorithm: str) -> Transport:
        """Total an integer ``flow`` exactly, then give every number back in its own unit.

        Costs of pairs that carry nothing are never read.
        """
        used = flow != 0
        total_flow = from_units(exact_sum(flow), amount_unit)
        total_cost = from_units(exact_dot(flow[used], costs[used]), amount_unit * cost_unit)
        if amount_unit != ONE:
            amounts = np.zeros(flow.shape)
            amounts[used] = [from_units(x, amount_unit) for x in flow[used]]
            flow = amounts
        else:
            flow = flow.copy()
        flow.setflags(write=False)
        return cls(flow, total_flow, total_cost, algorithm)


def stability(total_flow: float, total_cost: float) -> float:
    """The paper's stability theta = velocity / cost of a matching (inf when the cost is 0)."""
    if total_cost <= 0.0:
        return float("inf") if total_flow > 0 else 0.0
    return total_flow / total_cost


def _numbers(values: ArrayLike, name: str) -> np.ndarray:
    try:
        return number_array(values)
    except (TypeError, ValueError) as exc:
        raise MatchingInputError(name, "must be numbers") from exc


def _finite(array: np.ndarray) -> np.ndarray:
    """Mask of the entries that are finite numbers."""
    if array.dtype.kind in "iu":
        return np.ones(array.shape, dtype=bool)
    if array.dtype.kind == "f":
        return np.isfinite(array)
    return np.vectorize(is_number, otypes=[bool])(array) if array.size else np.ones(
        array.shape, dtype=bool)


def _shown(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _vector(values: ArrayLike, name: str) -> np.ndarray:
    array = _numbers(values, name)
    if array.ndim != 1:
        raise MatchingInputError(name, "must be one-dimensional", array.shape)
    bad = np.flatnonzero(~_finite(array))
    if not bad.size:
        bad = np.flatnonzero(array < 0)
    if bad.size:
        i = int(bad[0])
        raise MatchingInputError(f"{name}[{i}]", "must be finite and >= 0", _shown(array[i]))
    return array


def _matrix(values: ArrayLike, name: str, shape: tuple[int, int],
            read: Callable[[ArrayLike], np.ndarray]) -> np.ndarray:
    try:
        array = read(values)
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
    """Check an instance in labelled phases and return it in exact integer units.

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
    # Phase 2: masks and caps have the instance's shape and sane values (inf: no cap).
    blocked = (np.zeros(shape, dtype=bool) if forbidden is None
               else _matrix(forbidden, "forbidden", shape, lambda v: np.asarray(v, dtype=bool)))
    cap = (None if caps is None else _matrix(caps, "caps", shape, number_array))
    capped = np.zeros(shape, dtype=bool)
    if cap is not None:
        capped = _finite(cap)
        uncapped = np.array([x == np.inf for x in cap.ravel()], dtype=bool).reshape(shape) \
            if cap.dtype == object else np.isposinf(cap)
        culprit = _first_bad(~capped & ~uncapped)
        if culprit is None:
            culprit = _first_bad(capped & (np.where(capped, cap, 0) < 0))
        if culprit is not None:
            raise MatchingInputError(f"caps[{culprit[0]}, {culprit[1]}]",
                                     "must be >= 0 (inf for no cap)", _shown(cap[culprit]))
        blocked = blocked | (capped & (np.where(capped, cap, 0) == 0))
    # Phase 3: every pair that may carry flow has a finite cost (forbidden ones are ignored).
    c = _matrix(costs, "costs", shape, number_array)
    open_pairs = ~blocked
    culprit = _first_bad(open_pairs & ~_finite(c))
    if culprit is not None:
        raise MatchingInputError(f"costs[{culprit[0]}, {culprit[1]}]",
                                 "must be finite on an allowed pair", _shown(c[culprit]))
    # Phase 4: amounts in one integer unit, costs in another; a pair carries at most what
    # both of its ends can, so a cap only ever lowers that.
    (s, d, cap_values), amount_unit = to_units(
        [s, d, cap[capped & open_pairs] if cap is not None else np.zeros(0, dtype=np.int64)])
    capacity = np.minimum.outer(s, d)
    if cap is not None:
        capacity[capped & open_pairs] = np.minimum(capacity[capped & open_pairs], cap_values)
    capacity[~open_pairs] = 0
    (open_costs,), cost_unit = to_units([c[open_pairs]])
    cost_ints = np.zeros(shape, dtype=open_costs.dtype)
    cost_ints[open_pairs] = open_costs
    return TransportInstance(s, d, cost_ints, capacity, amount_unit, cost_unit)
