"""The simulated pipeline an autoscaler drives: queues, services, start-up delay.

A source produces into the first operation's queue; each operation consumes its queue at the
velocity of its ready services and produces into the next one's. A new service consumes only
after the start-up delay but costs resources from the moment it is requested, as a real pod
does. Every policy runs against the same plant, curve and delay.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from etlkit.scheduler.observation import Node
from etlkit.scheduler.placement import place_services

__all__ = ["Stage", "PlantConfig", "SimService", "Changes", "Plant", "Trace", "default_nodes"]


@dataclass(frozen=True)
class Stage:
    """One simulated operation: records/s one service consumes, and its load on a node."""

    name: str
    velocity: float
    weight: float = 1.0


def default_nodes() -> tuple[Node, ...]:
    """Eight nodes over two regions and three zones; 64 load units never bind a policy here."""
    layout = [("eu", "eu-a"), ("eu", "eu-a"), ("eu", "eu-a"), ("eu", "eu-b"), ("eu", "eu-b"),
              ("eu", "eu-b"), ("us", "us-a"), ("us", "us-a")]
    return tuple(Node(f"node-{k + 1}", region, zone, f"node-{k + 1}", capacity=8.0)
                 for k, (region, zone) in enumerate(layout))


@dataclass(frozen=True)
class PlantConfig:
    """The simulated system (times in seconds, rates in records/s, backlogs in records)."""

    dt: float = 5.0
    startup_delay_s: float = 30.0
    tolerance_backlog: float = 30_000.0
    tolerance_time_s: float = 60.0
    stages: tuple[Stage, ...] = (Stage("transform", 100.0, 1.0), Stage("load", 250.0, 0.5))
    nodes: tuple[Node, ...] = field(default_factory=default_nodes)
    min_replicas: int = 1
    max_replicas: int = 40
    source: str = "orders"


@dataclass
class SimService:
    service_id: str
    node: str
    ready_at: float


@dataclass(frozen=True)
class Changes:
    """Services to start (stage index, id, node) and to stop (stage index, id)."""

    add: tuple[tuple[int, str, str], ...] = ()
    remove: tuple[tuple[int, str], ...] = ()


@dataclass
class Trace:
    """Per-step record of one run (rows are steps)."""

    production: np.ndarray  # records/s produced
    consumed: np.ndarray  # records/s through the whole pipeline
    backlog: np.ndarray  # records not yet through the pipeline, after the step
    counts: np.ndarray  # services per stage (starting ones included)
    velocity: np.ndarray  # pipeline velocity: min over stages of ready capacity, records/s
    node_load: np.ndarray  # weighted load per node


class Plant:
    """State of the simulated pipeline; :meth:`step` advances it by ``dt``."""

    def __init__(self, config: PlantConfig, steps: int) -> None:
        self.config = config
        self.now = 0.0
        self.queues = [0.0] * len(config.stages)
        self.services: list[list[SimService]] = [[] for _ in config.stages]
        self._serial = 0
        n_stages, n_nodes = len(config.stages), len(config.nodes)
        self._node_index = {node.name: k for k, node in enumerate(config.nodes)}
        self.trace = Trace(np.zeros(steps), np.zeros(steps), np.zeros(steps),
                           np.zeros((steps, n_stages), dtype=np.int64), np.zeros(steps),
                           np.zeros((steps, n_nodes)))
        self.processed = np.zeros((steps, n_stages))  # records/s each stage consumed
        self.ready_capacity = np.zeros((steps, n_stages))  # records/s each stage could consume
        self._step = 0

    # Views for autoscalers -------------------------------------------------------------
    @property
    def backlog(self) -> float:
        return float(sum(self.queues))

    def ready(self, stage: int) -> int:
        return sum(1 for s in self.services[stage] if s.ready_at <= self.now)

    def recent(self, series: np.ndarray, window_s: float) -> np.ndarray:
        """The last ``window_s`` seconds of a per-step series (empty before the first step)."""
        k = max(1, int(round(window_s / self.config.dt)))
        return series[max(0, self._step - k):self._step]

    def recent_rate(self, window_s: float) -> float:
        window = self.recent(self.trace.production, window_s)
        return float(window.mean()) if window.size else 0.0

    # Changes ---------------------------------------------------------------------------
    def new_id(self, stage: int) -> str:
        self._serial += 1
        return f"{self.config.stages[stage].name}-sim{self._serial}"

    def node_loads(self) -> dict[str, float]:
        loads = {node.name: node.background_load for node in self.config.nodes}
        for stage, services in zip(self.config.stages, self.services):
            for s in services:
                loads[s.node] += stage.weight
        return loads

    def changes_for_counts(self, targets: list[int]) -> Changes:
        """Reach per-stage counts: add on the least-loaded nodes, remove the newest first."""
        loads = self.node_loads()
        add: list[tuple[int, str, str]] = []
        remove: list[tuple[int, str]] = []
        for k, target in enumerate(targets):
            services = self.services[k]
            if target > len(services):
                nodes = place_services(target - len(services), self.config.stages[k].weight,
                                       self.config.nodes, loads)
                add += [(k, self.new_id(k), node) for node in nodes]
            for s in services[target:][::-1]:
                remove.append((k, s.service_id))
        return Changes(tuple(add), tuple(remove))

    def apply(self, changes: Changes, *, ready_now: bool = False) -> None:
        """Start and stop services; new ones consume after the start-up delay unless
        ``ready_now`` (the initial deployment, already running when the run starts)."""
        ready_at = self.now + (0.0 if ready_now else self.config.startup_delay_s)
        for stage, service_id, node in changes.add:
            self.services[stage].append(SimService(service_id, node, ready_at))
        for stage, service_id in changes.remove:
            self.services[stage] = [s for s in self.services[stage]
                                    if s.service_id != service_id]

    # Dynamics --------------------------------------------------------------------------
    def step(self, rate: float) -> None:
        """Produce ``rate * dt`` records, let each stage consume what it can, record the step."""
        dt, k = self.config.dt, self._step
        inflow = rate * dt
        loads = np.zeros(len(self.config.nodes))
        for j, stage in enumerate(self.config.stages):
            self.queues[j] += inflow
            capacity = self.ready(j) * stage.velocity * dt
            inflow = min(self.queues[j], capacity)
            self.queues[j] -= inflow
            self.processed[k, j] = inflow / dt
            self.ready_capacity[k, j] = capacity / dt
            self.trace.counts[k, j] = len(self.services[j])
            for s in self.services[j]:
                loads[self._node_index[s.node]] += stage.weight
        t = self.trace
        t.production[k] = rate
        t.consumed[k] = inflow / dt
        t.backlog[k] = self.backlog
        t.velocity[k] = self.ready_capacity[k].min()
        t.node_load[k] = loads
        self._step += 1
        self.now += dt
