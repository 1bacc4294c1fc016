"""How many services one operation should run: scale out, scale in, hold, or go to zero.

* Scale out when the operation's velocity is below the required rate CVm, by
  ``ceil((CVm * (1 + headroom) - velocity) / alpha)`` services, up to ``max_replicas``.
* Scale in only services the scheduler added, and only after every count recommended during
  the hold window allows it (HPA's stabilisation window): a dip shorter than the window
  removes nothing. What remains must reach the scale-in rate
  (:func:`~.velocity.scale_in_rate`), above CVm by enough that the backlog takes a while to
  refill: a backlog-steering controller otherwise cycles between two counts every minute or
  two around a fractional need.
* Scale to zero when the source is idle (the one case where services the scheduler did not add
  go too), and wake to at least one service when it produces again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .policy import Policy

__all__ = ["Sizing", "Action", "size_operation"]

Action = Literal["scale-out", "scale-in", "hold", "to-zero"]

# A ratio like 2.0000000001 from summed float velocities must not buy a third service.
_ROUNDING = 1e-9


@dataclass(frozen=True)
class Sizing:
    """The count decided for one operation, why, and the updated scale-in window."""

    target: int
    action: Action
    reason: str
    recommendations: tuple[tuple[float, int], ...]


def _remember(window: tuple[tuple[float, int], ...], now: float,
              count: int) -> tuple[tuple[float, int], ...]:
    """Append (now, count), dropping older entries it outranks.

    An entry no larger than a newer one can never again be the window's maximum, so the window
    keeps strictly decreasing counts: its maximum is its first entry, and the persisted state
    stays a handful of pairs however long the hold is.
    """
    return tuple((t, c) for t, c in window if c > count) + ((now, count),)


def size_operation(*, name: str, current: int, capacity: float, per_service: float,
                   required: float, required_in: float, removable: int, min_replicas: int,
                   max_replicas: int, idle: bool,
                   recommendations: tuple[tuple[float, int], ...], now: float,
                   policy: Policy) -> Sizing:
    """Decide the target service count of one operation.

    Parameters
    ----------
    current : services now (ready or starting).
    capacity, per_service : the operation's velocity and alpha (records/s).
    required : CVm of its pipeline (records/s).
    required_in : velocity a scale-in must leave (records/s, >= required).
    removable : added services still running (the only ones a scale-in may remove).
    idle : the source has been idle long enough to scale to zero.
    recommendations : (time, count) recommended in earlier ticks, oldest first.
    """
    if idle:
        if current == 0:
            return Sizing(0, "hold", f"{name}: source idle, already at zero", ())
        return Sizing(0, "to-zero", f"{name}: source idle for >= {policy.idle_after_s:g}s, "
                      f"removing all {current} services", ())
    if per_service <= 0:
        return Sizing(current, "hold", f"{name}: no velocity known yet (nothing measured and "
                      "no nominal velocity), keeping the count", recommendations)
    floor = max(min_replicas, 1 if required > 0 else 0)
    kept = tuple((t, c) for t, c in recommendations if t > now - policy.scale_in_hold_s)
    if capacity < required or current < floor:
        wanted = required * (1.0 + policy.scale_out_headroom) - capacity
        add = max(math.ceil(wanted / per_service - _ROUNDING), floor - current, 0)
        target = min(current + add, max(max_replicas, current))
        why = (f"velocity {capacity:.1f} < required {required:.1f} rec/s"
               if capacity < required else f"{current} services < minimum {floor}")
        if target == current:
            return Sizing(current, "hold", f"{name}: {why} but already at max_replicas "
                          f"{max_replicas}", _remember(kept, now, current))
        return Sizing(target, "scale-out", f"{name}: {why}; +{target - current} at "
                      f"{per_service:.1f} rec/s each (headroom "
                      f"{policy.scale_out_headroom:.0%})", _remember(kept, now, target))
    spare = math.floor((capacity - required_in) / per_service + _ROUNDING)
    desired = max(floor, current - max(spare, 0))
    if current > max_replicas:
        desired = min(desired, max_replicas)
    window = _remember(kept, now, desired)
    stable = window[0][1]
    target = max(stable, current - removable)
    if target >= current:
        if desired >= current:
            why = (f"velocity {capacity:.1f} rec/s minus one service would fall below the "
                   f"scale-in rate {required_in:.1f}")
        elif stable >= current:
            why = (f"could go to {desired} but {stable} was recommended within the last "
                   f"{policy.scale_in_hold_s:g}s")
        else:
            why = f"could go to {stable} but no added service is left to remove"
        return Sizing(current, "hold", f"{name}: {why}", window)
    return Sizing(target, "scale-in", f"{name}: velocity {capacity:.1f} rec/s stays above the "
                  f"scale-in rate {required_in:.1f} without {current - target} added "
                  f"services, for {policy.scale_in_hold_s:g}s", window)
