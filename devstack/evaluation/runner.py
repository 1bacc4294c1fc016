"""Run every policy on every curve and summarise what each one cost and missed."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

from etlkit.scheduler import metrics
from etlkit.scheduler.policy import Policy

from .autoscalers import Autoscaler, FixedCounts, HpaStyle, KedaStyle, SchedulerAutoscaler
from .curves import production_curve
from .plant import Plant, PlantConfig, Trace

__all__ = ["PolicySpec", "RunMetrics", "EvaluationSettings", "simulate", "default_policies",
           "measure", "run_curve", "evaluate"]


@dataclass(frozen=True)
class PolicySpec:
    """A named way to build a fresh autoscaler for one curve."""

    name: str
    build: Callable[[np.ndarray, PlantConfig], Autoscaler]


@dataclass(frozen=True)
class RunMetrics:
    """One policy on one curve."""

    violation_s: float
    resource_seconds: float
    scaling_actions: int
    speed_waste: float
    backlog_waste: float
    total_cost: float
    consumed: float
    max_backlog: float


def scheduler_policy(config: PlantConfig, *, paper: bool = False, **overrides) -> Policy:
    """Ours (or the paper's rule) with the plant's tolerances and start-up delay.

    The simulation leaves out the matching: it does not change any count it measures.
    """
    build = Policy.paper if paper else Policy
    return build(startup_delay_s=config.startup_delay_s,
                 tolerance_backlog=config.tolerance_backlog,
                 tolerance_time_s=config.tolerance_time_s, match_services=False, **overrides)


def default_policies(hpa_target: float = 0.8, keda_lag_s: float = 60.0) -> list[PolicySpec]:
    """The six policies of the evaluation, in table order."""
    return [
        PolicySpec("provision-max", lambda c, p: FixedCounts("provision-max", c, np.max)),
        PolicySpec("provision-average", lambda c, p: FixedCounts("provision-average", c, np.mean)),
        PolicySpec("paper-rule", lambda c, p: SchedulerAutoscaler(
            "paper-rule", scheduler_policy(p, paper=True))),
        PolicySpec("ours", lambda c, p: SchedulerAutoscaler("ours", scheduler_policy(p))),
        PolicySpec("hpa-style", lambda c, p: HpaStyle(target=hpa_target)),
        PolicySpec("keda-style", lambda c, p: KedaStyle(lag_threshold_s=keda_lag_s,
                                                        partitions=p.max_replicas)),
    ]


def simulate(curve: np.ndarray, autoscaler: Autoscaler, config: PlantConfig) -> Trace:
    """Drive one plant through ``curve`` (one rate per step) with ``autoscaler``."""
    plant = Plant(config, len(curve))
    # Every elastic policy starts from the declared minimum, already running.
    plant.apply(plant.changes_for_counts([config.min_replicas] * len(config.stages)),
                ready_now=True)
    if not math.isfinite(autoscaler.period_s):  # fixed provisioning: in place from the start
        plant.apply(autoscaler.step(plant), ready_now=True)
        period_steps = len(curve) + 1
    else:
        period_steps = max(1, int(round(autoscaler.period_s / config.dt)))
    for k, rate in enumerate(curve.tolist()):
        if k > 0 and k % period_steps == 0:
            plant.apply(autoscaler.step(plant))
        plant.step(rate)
    return plant.trace


def measure(trace: Trace, config: PlantConfig) -> RunMetrics:
    dt = config.dt
    weights = [s.weight for s in config.stages]
    return RunMetrics(
        violation_s=metrics.violation_time(trace.backlog, config.tolerance_backlog, dt),
        resource_seconds=metrics.resource_seconds(trace.counts, dt, weights),
        scaling_actions=metrics.scaling_actions(trace.counts),
        speed_waste=metrics.speed_waste(trace.velocity, trace.production, dt),
        backlog_waste=metrics.backlog_waste(trace.velocity, trace.production, dt),
        total_cost=metrics.total_cost(trace.velocity, trace.production, dt),
        consumed=float(trace.consumed.sum() * dt),
        max_backlog=float(trace.backlog.max(initial=0.0)),
    )


def run_curve(curve: np.ndarray, specs: Sequence[PolicySpec],
              config: PlantConfig) -> dict[str, RunMetrics]:
    return {spec.name: measure(simulate(curve, spec.build(curve, config), config), config)
            for spec in specs}


@dataclass(frozen=True)
class EvaluationSettings:
    """One evaluation run: which curves, how long, and the yardsticks' settings."""

    curves: int = 100
    duration_s: float = 20_000.0
    dt: float = 5.0
    seed: int = 0
    hpa_target: float = 0.8
    keda_lag_s: float = 60.0

    @property
    def steps(self) -> int:
        return int(round(self.duration_s / self.dt))

    def plant(self) -> PlantConfig:
        return PlantConfig(dt=self.dt)

    def policies(self) -> list[PolicySpec]:
        return default_policies(self.hpa_target, self.keda_lag_s)

    def curve(self, index: int) -> np.ndarray:
        return production_curve(index, self.steps, self.dt, self.seed)


def _evaluate_curve(settings: EvaluationSettings, index: int) -> dict[str, RunMetrics]:
    return run_curve(settings.curve(index), settings.policies(), settings.plant())


def evaluate(settings: EvaluationSettings, *, jobs: int = 1,
             on_curve: Callable[[], None] = lambda: None) -> dict[str, list[RunMetrics]]:
    """Every policy on every curve; results per policy in curve order whatever ``jobs`` is."""
    results: list[dict[str, RunMetrics] | None] = [None] * settings.curves
    if jobs <= 1:
        for index in range(settings.curves):
            results[index] = _evaluate_curve(settings, index)
            on_curve()
    else:
        with ProcessPoolExecutor(jobs) as pool:
            futures = {pool.submit(_evaluate_curve, settings, index): index
                       for index in range(settings.curves)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                on_curve()
    names = [spec.name for spec in settings.policies()]
    return {name: [r[name] for r in results if r is not None] for name in names}
