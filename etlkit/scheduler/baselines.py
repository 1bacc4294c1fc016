"""The matchers people use, kept as yardsticks for the exact ones (never used to decide).

* :func:`greedy_pairs` is the paper's DI: repeatedly ship on the cheapest remaining pair.
  Optimal for pure topology distances, wrong for general costs (it cannot undo a shipment) and
  short of the maximum flow once pairs are forbidden.
* :func:`greedy_per_service`: each upstream service in turn fills its cheapest partners.
* :func:`round_robin`: each upstream service in turn ships to the next downstream service in
  a cycle, ignoring cost (the paper's "poll").

All honour forbidden pairs and caps, and break ties towards lower indices.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .transport import Transport, TransportInstance, validate_instance

__all__ = ["greedy_pairs", "greedy_per_service", "round_robin"]


class _Ledger:
    """What each end and each pair has left while a baseline ships greedily."""

    def __init__(self, inst: TransportInstance) -> None:
        self.inst = inst
        self.supply_left = inst.supplies.copy()
        self.demand_left = inst.demands.copy()
        self.room = inst.capacity.copy()
        self.flow = np.zeros_like(inst.capacity)

    def ship(self, i: int, j: int) -> float:
        amount = min(self.supply_left[i], self.demand_left[j], self.room[i, j])
        if amount > 0:
            self.flow[i, j] += amount
            self.supply_left[i] -= amount
            self.demand_left[j] -= amount
            self.room[i, j] -= amount
        return amount

    def open_partners(self, i: int) -> np.ndarray:
        return np.flatnonzero((self.room[i] > 0) & (self.demand_left > 0))

    def result(self, algorithm: str) -> Transport:
        return Transport.from_units(self.flow, self.inst.costs, self.inst.amount_unit,
                                    self.inst.cost_unit, algorithm)


def greedy_pairs(supplies: ArrayLike, demands: ArrayLike, costs: ArrayLike, *,
                 forbidden: ArrayLike | None = None, caps: ArrayLike | None = None) -> Transport:
    """Cheapest remaining pair first (ties: lower upstream, then lower downstream index)."""
    ledger = _Ledger(validate_instance(supplies, demands, costs, forbidden, caps))
    rows, cols = np.nonzero(ledger.inst.capacity > 0)
    pair_costs = ledger.inst.costs[rows, cols]
    if pair_costs.dtype == object:  # costs past int64 (lexsort takes no Python ints)
        order = sorted(range(rows.size), key=lambda k: (pair_costs[k], rows[k], cols[k]))
    else:
        order = np.lexsort((cols, rows, pair_costs))
    for i, j in zip(rows[order].tolist(), cols[order].tolist()):
        ledger.ship(i, j)
    return ledger.result("greedy")


def greedy_per_service(supplies: ArrayLike, demands: ArrayLike, costs: ArrayLike, *,
                       forbidden: ArrayLike | None = None,
                       caps: ArrayLike | None = None) -> Transport:
    """Each upstream service in index order ships to its cheapest open partners."""
    ledger = _Ledger(validate_instance(supplies, demands, costs, forbidden, caps))
    for i in range(ledger.supply_left.size):
        while ledger.supply_left[i] > 0:
            partners = ledger.open_partners(i)
            if partners.size == 0:
                break
            ledger.ship(i, int(partners[np.argmin(ledger.inst.costs[i, partners])]))
    return ledger.result("greedy-per-service")


def round_robin(supplies: ArrayLike, demands: ArrayLike, costs: ArrayLike, *,
                forbidden: ArrayLike | None = None, caps: ArrayLike | None = None) -> Transport:
    """Each upstream service ships to the next open downstream service of a cycle."""
    ledger = _Ledger(validate_instance(supplies, demands, costs, forbidden, caps))
    n = ledger.demand_left.size
    turn = 0
    for i in range(ledger.supply_left.size):
        while ledger.supply_left[i] > 0:
            partners = ledger.open_partners(i)
            if partners.size == 0:
                break
            # The first open partner at or after the turn, wrapping around.
            j = int(partners[np.argmax(partners >= turn)] if (partners >= turn).any()
                    else partners[0])
            ledger.ship(i, j)
            turn = (j + 1) % n
    return ledger.result("round-robin")
