"""The issue's goals for our policy, as ratios against yardsticks measured in the same run."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .runner import RunMetrics

__all__ = ["PolicySummary", "Goal", "summarise", "policy_goals", "ratio"]


@dataclass(frozen=True)
class PolicySummary:
    """One policy over all curves: means per curve (times in s, records, resource-seconds)."""

    name: str
    curves: int
    violation_s: float
    violation_fraction: float
    resource_seconds: float
    scaling_actions: float
    speed_waste: float
    backlog_waste: float
    total_cost: float
    max_backlog: float
    consumed: float


@dataclass(frozen=True)
class Goal:
    """``measured <= limit`` (or ``>=`` when ``at_least``), usually ours / yardstick."""

    name: str
    measured: float
    limit: float
    at_least: bool = False

    @property
    def met(self) -> bool:
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    def line(self) -> str:
        if self.met:
            verdict = "met"
        elif self.limit == 0 or self.measured == 0:
            verdict = "MISSED"
        else:
            factor = max(self.measured / self.limit, self.limit / self.measured)
            verdict = f"MISSED by {factor:.2f}x"
        sign = ">=" if self.at_least else "<="
        return f"{self.name}: {self.measured:.4g} (goal {sign} {self.limit:g}) {verdict}"


def ratio(ours: float, yardstick: float) -> float:
    """ours / yardstick, with 0 / 0 = 0 (both perfect) and x / 0 = inf."""
    if yardstick == 0:
        return 0.0 if ours == 0 else math.inf
    return ours / yardstick


def summarise(name: str, runs: Sequence[RunMetrics], duration_s: float) -> PolicySummary:
    def mean(field: str) -> float:
        return float(np.mean([getattr(r, field) for r in runs])) if runs else math.nan

    return PolicySummary(name, len(runs), mean("violation_s"),
                         mean("violation_s") / duration_s, mean("resource_seconds"),
                         mean("scaling_actions"), mean("speed_waste"), mean("backlog_waste"),
                         mean("total_cost"), mean("max_backlog"), mean("consumed"))


def policy_goals(summaries: Mapping[str, PolicySummary], ours: str = "ours") -> list[Goal]:
    """The five goals of the issue, for the policy named ``ours``."""
    o, hpa, keda, full = (summaries[ours], summaries["hpa-style"], summaries["keda-style"],
                          summaries["provision-max"])
    return [
        Goal("violation time vs hpa-style", ratio(o.violation_s, hpa.violation_s), 1.0),
        Goal("violation time vs keda-style", ratio(o.violation_s, keda.violation_s), 0.1),
        Goal("resource-seconds vs hpa-style", ratio(o.resource_seconds, hpa.resource_seconds),
             0.85),
        Goal("resource-seconds vs provision-max",
             ratio(o.resource_seconds, full.resource_seconds), 0.5),
        Goal("scaling actions vs hpa-style", ratio(o.scaling_actions, hpa.scaling_actions), 2.0),
    ]
