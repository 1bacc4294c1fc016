"""Metrics of a schedule over time (the paper's section 4, plus what operators watch).

All take per-step arrays sampled every ``dt`` seconds. Rates are records/s, backlogs records.

* speed waste mu: velocity provisioned beyond production, times time (times a memory weight);
* backlog waste epsilon: production beyond velocity, times time;
* total cost = mu + epsilon; stability theta = velocity / cost (see :func:`.transport.stability`);
* violation time: time with backlog above DTC;
* resource-seconds: services (times their weight) times time;
* scaling actions: changes of an operation's service count.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .transport import stability

__all__ = ["speed_waste", "backlog_waste", "total_cost", "violation_time", "resource_seconds",
           "scaling_actions", "stability"]


def speed_waste(velocity: ArrayLike, production: ArrayLike, dt: float,
                weight: float = 1.0) -> float:
    """mu = sum of max(0, velocity - production) * dt * weight (records, times weight)."""
    gap = np.asarray(velocity, dtype=float) - np.asarray(production, dtype=float)
    return float(np.clip(gap, 0.0, None).sum() * dt * weight)


def backlog_waste(velocity: ArrayLike, production: ArrayLike, dt: float,
                  weight: float = 1.0) -> float:
    """epsilon = sum of max(0, production - velocity) * dt * weight."""
    return speed_waste(production, velocity, dt, weight)


def total_cost(velocity: ArrayLike, production: ArrayLike, dt: float,
               weight: float = 1.0) -> float:
    """mu + epsilon."""
    gap = np.asarray(velocity, dtype=float) - np.asarray(production, dtype=float)
    return float(np.abs(gap).sum() * dt * weight)


def violation_time(backlog: ArrayLike, tolerance: float, dt: float) -> float:
    """Seconds during which the backlog was above the tolerance capacity DTC."""
    return float((np.asarray(backlog, dtype=float) > tolerance).sum() * dt)


def resource_seconds(counts: ArrayLike, dt: float, weights: ArrayLike | float = 1.0) -> float:
    """Sum over steps and operations of services * weight * dt.

    ``counts`` is (steps,) for one operation or (steps, operations) with one weight each.
    """
    c = np.asarray(counts, dtype=float)
    return float((c * np.asarray(weights, dtype=float)).sum() * dt)


def scaling_actions(counts: ArrayLike) -> int:
    """Number of steps at which an operation's count changed, summed over operations."""
    c = np.asarray(counts)
    if c.ndim == 1:
        c = c[:, None]
    return int((np.diff(c, axis=0) != 0).sum())
