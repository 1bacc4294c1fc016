"""Velocities: what a pipeline must sustain, and what each operation can.

CVm = max(0, PV + (C - target) / DTT): the paper states two cases (backlog under or over DTC)
that are one inequality; steering to a target below DTC leaves a margin for forecast errors and
the start-up delay. An operation's velocity is the sum of its services' measured velocities;
the pipeline's is the slowest operation's.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .observation import Service

__all__ = ["required_rate", "scale_in_rate", "OperationVelocity", "operation_velocity",
           "pipeline_velocity"]


def required_rate(predicted: float, backlog: float, target_backlog: float,
                  tolerance_time_s: float) -> float:
    """The minimum pipeline velocity CVm (records/s) that brings ``backlog`` to the target in DTT.

    >>> required_rate(400.0, 30_000.0, 15_000.0, 60.0)
    650.0
    """
    return max(0.0, predicted + (backlog - target_backlog) / tolerance_time_s)


def scale_in_rate(predicted: float, backlog: float, target_backlog: float, refill_s: float,
                  dead_band: float, required: float) -> float:
    """The velocity a scale-in must leave (records/s): never below CVm, and enough that the
    backlog takes at least ``refill_s`` to climb back to its target at the forecast rate.

    With ``refill_s`` = DTT and no dead band this is CVm itself (the paper's rule).

    >>> scale_in_rate(400.0, 0.0, 15_000.0, 300.0, 0.0, required=150.0)
    350.0
    """
    return max(required, predicted * (1.0 + dead_band) + (backlog - target_backlog) / refill_s)


@dataclass(frozen=True)
class OperationVelocity:
    """``capacity``: records/s the operation's services can consume (starting ones included at
    ``per_service``); ``per_service``: alpha, the velocity a new service is counted at."""

    capacity: float
    per_service: float
    ready: int
    starting: int


def operation_velocity(services: Sequence[Service], fallback: float) -> OperationVelocity:
    """Sum the measured velocities; count services not yet measured at the mean (alpha).

    ``fallback`` is alpha when nothing is measured yet (last known mean, else nominal).
    """
    measured = [s.velocity for s in services if s.ready and s.velocity > 0]
    per_service = sum(measured) / len(measured) if measured else fallback
    unmeasured = len(services) - len(measured)
    return OperationVelocity(sum(measured) + unmeasured * per_service, per_service,
                             len(measured), unmeasured)


def pipeline_velocity(capacities: Iterable[float]) -> float:
    """CV = min over operations of their velocity (0 for no operation)."""
    return min(capacities, default=0.0)
