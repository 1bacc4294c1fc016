"""How the scheduler decides: tolerances, forecast, safety margins and hysteresis.

One frozen, validated object. ``Policy()`` is ours; :meth:`Policy.paper` is the rule of the
paper as written (backlog steered to exactly DTC, no margin, no hold), kept as a yardstick.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from .errors import PolicyError, require

__all__ = ["Policy"]


@dataclass(frozen=True)
class Policy:
    """Tunables of :func:`~etlkit.scheduler.decide.decide` (times in seconds, rates in records/s).

    The defaults were tuned on the evaluation's seeded curves (``faas-etl simulate``): the
    backlog target below DTC is the safety margin (so no safety factor is needed on the
    forecast), and the 300 s refill time stretches the cycle between two service counts that
    a backlog-steering controller otherwise runs at a period of a minute or two.

    Attributes
    ----------
    control_period_s : time between two decisions.
    startup_delay_s : time a new service takes to start consuming; the forecast looks this far
        ahead (horizon = startup_delay_s / control_period_s steps).
    tolerance_time_s : DTT, the time within which the backlog must be back under DTC.
    tolerance_backlog : DTC, the backlog (records) allowed after DTT.
    backlog_target : fraction of DTC the backlog is steered to; below 1 keeps a margin for
        forecast errors and start-up delay.
    forecast : "lrr" (robust local regression) or "last" (last value).
    window : k, observations the forecast looks at.
    safety : factor on the forecast rate.
    scale_out_headroom : a scale-out sizes for required rate * (1 + headroom), so one action
        covers a rising trend for a while instead of one service per tick.
    scale_in_refill_s : a scale-in keeps capacity >= forecast * (1 + dead_band) + (backlog -
        target) / scale_in_refill_s: after it, the backlog takes at least this long to climb
        back to its target. Longer than DTT, it bounds how often the count can cycle between
        two values around a fractional need; None means DTT (the paper's symmetric rule).
    dead_band : relative margin on the forecast that a scale-in must leave.
    scale_in_hold_s : a scale-in goes to the highest count recommended over this window
        (the HPA's stabilisation window), so a dip shorter than it removes nothing.
    idle_after_s : a source with no production and no backlog for this long is idle.
    scale_to_zero : whether an idle source's operations go to zero services.
    match_services : whether to compute the matching between adjacent operations.
    """

    control_period_s: float = 10.0
    startup_delay_s: float = 30.0
    tolerance_time_s: float = 60.0
    tolerance_backlog: float = 30_000.0
    backlog_target: float = 0.5
    forecast: Literal["lrr", "last"] = "lrr"
    window: int = 20
    safety: float = 1.0
    scale_out_headroom: float = 0.1
    scale_in_refill_s: float | None = 300.0
    dead_band: float = 0.0
    scale_in_hold_s: float = 300.0
    idle_after_s: float = 300.0
    scale_to_zero: bool = True
    match_services: bool = True

    def __post_init__(self) -> None:
        for name in ("control_period_s", "tolerance_time_s", "tolerance_backlog"):
            value = getattr(self, name)
            require(_number(value) and value > 0, PolicyError, f"policy.{name}",
                    "must be a finite number > 0", value)
        for name in ("startup_delay_s", "scale_in_hold_s", "idle_after_s", "dead_band",
                     "scale_out_headroom"):
            value = getattr(self, name)
            require(_number(value) and value >= 0, PolicyError, f"policy.{name}",
                    "must be a finite number >= 0", value)
        require(_number(self.backlog_target) and 0 <= self.backlog_target <= 1, PolicyError,
                "policy.backlog_target", "must be a fraction of DTC in [0, 1]",
                self.backlog_target)
        require(_number(self.safety) and self.safety >= 1, PolicyError, "policy.safety",
                "must be >= 1 (a factor below 1 would plan for less than forecast)", self.safety)
        require(self.forecast in ("lrr", "last"), PolicyError, "policy.forecast",
                "must be 'lrr' or 'last'", self.forecast)
        require(isinstance(self.window, int) and self.window >= 1, PolicyError, "policy.window",
                "must be an int >= 1", self.window)
        require(self.scale_in_refill_s is None
                or (_number(self.scale_in_refill_s) and self.scale_in_refill_s > 0),
                PolicyError, "policy.scale_in_refill_s", "must be None or a finite number > 0",
                self.scale_in_refill_s)

    @property
    def horizon_steps(self) -> float:
        return self.startup_delay_s / self.control_period_s

    @property
    def target_backlog(self) -> float:
        return self.backlog_target * self.tolerance_backlog

    @property
    def refill_s(self) -> float:
        """The scale-in refill time in effect (DTT when unset)."""
        return self.tolerance_time_s if self.scale_in_refill_s is None else self.scale_in_refill_s

    @classmethod
    def paper(cls, **overrides: Any) -> Policy:
        """The paper's rule: LRR, backlog steered to DTC, no margins, no hysteresis."""
        base = {"backlog_target": 1.0, "window": 10, "safety": 1.0,
                "scale_out_headroom": 0.0, "scale_in_refill_s": None, "dead_band": 0.0,
                "scale_in_hold_s": 0.0}
        return cls(**{**base, **overrides})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        require(not unknown, PolicyError, f"policy.{unknown[0] if unknown else ''}",
                "is not a policy field")
        return replace(cls(), **data)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
