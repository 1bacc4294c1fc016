"""The policies compared on the simulated plant, behind one small interface.

* provision for max / for average: fixed counts sized from the whole curve (an oracle);
* the paper's rule and ours: :func:`etlkit.scheduler.decide` with :meth:`Policy.paper` and
  :class:`Policy` defaults, fed an :class:`Observation` built from the plant;
* HPA-style: CPU utilisation (busy fraction of the services), desired = ceil(current * util /
  target) skipped within a 10% tolerance, 15 s sync, scale-up at most max(+4, x2) per sync,
  scale-down to the highest recommendation of the last 300 s;
* KEDA-style: Kafka lag of each operation's input, desired = ceil(lag / lagThreshold) through
  the same HPA loop (tolerance, stabilisation), capped at the partition count.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from etlkit.scheduler.decide import decide
from etlkit.scheduler.observation import Observation, Operation, Pipeline, Service
from etlkit.scheduler.policy import Policy
from etlkit.scheduler.state import ControllerState

from .plant import Changes, Plant

__all__ = ["Autoscaler", "FixedCounts", "SchedulerAutoscaler", "HpaStyle", "KedaStyle",
           "HpaLoop"]


class Autoscaler(Protocol):
    """Called every ``period_s`` seconds with the plant; returns the changes to apply."""

    name: str
    period_s: float

    def step(self, plant: Plant) -> Changes: ...


@dataclass
class FixedCounts:
    """Counts chosen once, from the whole curve (``statistic`` is np.max or np.mean)."""

    name: str
    curve: np.ndarray
    statistic: Callable[[np.ndarray], float]
    period_s: float = math.inf

    def step(self, plant: Plant) -> Changes:
        rate = float(self.statistic(self.curve))
        return plant.changes_for_counts(
            [max(plant.config.min_replicas, math.ceil(rate / s.velocity - 1e-9))
             for s in plant.config.stages])


@dataclass
class SchedulerAutoscaler:
    """The scheduler core under test: observation in, plan's placements/removals out."""

    name: str
    policy: Policy
    state: ControllerState = field(default_factory=ControllerState)

    @property
    def period_s(self) -> float:
        return self.policy.control_period_s

    def observe(self, plant: Plant) -> Observation:
        config = plant.config
        operations = tuple(
            Operation(stage.name,
                      tuple(Service(s.service_id, s.node,
                                    stage.velocity if s.ready_at <= plant.now else 0.0,
                                    ready=s.ready_at <= plant.now)
                            for s in plant.services[k]),
                      weight=stage.weight, min_replicas=config.min_replicas,
                      max_replicas=config.max_replicas, nominal_velocity=stage.velocity)
            for k, stage in enumerate(config.stages))
        pipeline = Pipeline(config.source, plant.recent_rate(self.period_s), plant.backlog,
                            operations)
        return Observation((pipeline,), config.nodes)

    def step(self, plant: Plant) -> Changes:
        plan = decide(self.observe(plant), self.policy, self.state, plant.now)
        self.state = plan.state
        index = {stage.name: k for k, stage in enumerate(plant.config.stages)}
        return Changes(tuple((index[p.operation], p.service_id, p.node) for p in plan.placements),
                       tuple((index[r.operation], r.service_id) for r in plan.removals))


@dataclass
class HpaLoop:
    """The Kubernetes HPA's arithmetic around a per-stage desired count."""

    tolerance: float = 0.1
    stabilization_s: float = 300.0
    history: list[list[tuple[float, int]]] = field(default_factory=list)

    def next_count(self, stage: int, current: int, ratio: float, now: float, low: int,
                   high: int) -> int:
        while len(self.history) <= stage:
            self.history.append([])
        if current > 0 and abs(ratio - 1.0) <= self.tolerance:
            desired = current
        else:
            desired = math.ceil(current * ratio - 1e-9) if current > 0 else low
        # Default scale-up behaviour: at most max(4 pods, 100%) more per period.
        desired = min(desired, max(current + 4, 2 * current))
        desired = min(max(desired, low), high)
        window = [(t, c) for t, c in self.history[stage] if t > now - self.stabilization_s]
        window.append((now, desired))
        self.history[stage] = window
        if desired < current:
            desired = min(current, max(c for _, c in window))
        return desired


def _hpa_step(plant: Plant, loop: HpaLoop, ratio: Callable[[int, int], float],
              high: int) -> Changes:
    """One HPA sync: per stage, ``ratio(stage, current)`` = metric / target through the loop."""
    config, counts = plant.config, []
    for k in range(len(config.stages)):
        current = len(plant.services[k])
        counts.append(loop.next_count(k, current, ratio(k, current), plant.now,
                                      config.min_replicas, high))
    return plant.changes_for_counts(counts)


@dataclass
class HpaStyle:
    """Utilisation target: services should be busy ``target`` of the time."""

    target: float = 0.8
    name: str = "hpa-style"
    period_s: float = 15.0
    loop: HpaLoop = field(default_factory=HpaLoop)

    def step(self, plant: Plant) -> Changes:
        def ratio(k: int, current: int) -> float:
            processed = plant.recent(plant.processed[:, k], self.period_s)
            busy = float(processed.mean()) if processed.size else 0.0
            # Starting services count as idle, as the HPA treats unready pods on scale-up.
            capacity = current * plant.config.stages[k].velocity
            return (busy / capacity if current else 1.0) / self.target

        return _hpa_step(plant, self.loop, ratio, plant.config.max_replicas)


@dataclass
class KedaStyle:
    """Lag target: each service should have at most ``lag_threshold_s`` of work queued."""

    lag_threshold_s: float = 60.0
    name: str = "keda-style"
    period_s: float = 15.0
    partitions: int = 40
    loop: HpaLoop = field(default_factory=HpaLoop)

    def step(self, plant: Plant) -> Changes:
        def ratio(k: int, current: int) -> float:
            threshold = plant.config.stages[k].velocity * self.lag_threshold_s
            return plant.queues[k] / (current * threshold) if current else 1.0

        return _hpa_step(plant, self.loop, ratio,
                         min(plant.config.max_replicas, self.partitions))
