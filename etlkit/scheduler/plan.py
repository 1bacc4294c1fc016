"""What :func:`~etlkit.scheduler.decide.decide` returns: counts, placements, removals, matching.

Every decision carries a human-readable reason naming the operation and the numbers it used,
for the controller's logs and status. ``Plan.state`` is the memory to persist for next tick.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .matching import ServiceMatching
from .state import ControllerState

__all__ = ["Placement", "Removal", "OperationDecision", "PipelineDecision", "Link", "Plan"]


@dataclass(frozen=True)
class Placement:
    """Start service ``service_id`` of ``operation`` on ``node``."""

    operation: str
    service_id: str
    node: str


@dataclass(frozen=True)
class Removal:
    """Stop service ``service_id`` of ``operation`` (running on ``node``)."""

    operation: str
    service_id: str
    node: str


@dataclass(frozen=True)
class OperationDecision:
    """Target count of one operation and why (velocities in records/s)."""

    operation: str
    current: int
    target: int
    action: str
    capacity: float
    per_service: float
    reason: str


@dataclass(frozen=True)
class PipelineDecision:
    """The numbers behind one pipeline's decisions (rates in records/s, backlog in records).

    ``required_rate`` is CVm, ``scale_in_rate`` what a scale-in must leave, ``velocity`` the
    pipeline velocity CV observed before the plan (the slowest operation).
    """

    source: str
    production_rate: float
    backlog: float
    forecast: float
    required_rate: float
    scale_in_rate: float
    velocity: float
    idle: bool
    reason: str


@dataclass(frozen=True)
class Link:
    """The matching between the services of two adjacent operations after the plan."""

    upstream: str
    downstream: str
    matching: ServiceMatching


@dataclass(frozen=True)
class Plan:
    """The output of one tick, sorted by source, then operation, then service order."""

    pipelines: tuple[PipelineDecision, ...]
    operations: tuple[OperationDecision, ...]
    placements: tuple[Placement, ...]
    removals: tuple[Removal, ...]
    links: tuple[Link, ...]
    state: ControllerState

    @property
    def targets(self) -> dict[str, int]:
        """Target service count per operation."""
        return {d.operation: d.target for d in self.operations}

    @property
    def changed(self) -> bool:
        return bool(self.placements or self.removals)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for logs and status (the state is persisted separately)."""
        return {
            "pipelines": [vars(p).copy() for p in self.pipelines],
            "operations": [vars(d).copy() for d in self.operations],
            "placements": [vars(p).copy() for p in self.placements],
            "removals": [vars(r).copy() for r in self.removals],
            "links": [{"upstream": link.upstream, "downstream": link.downstream,
                       **link.matching.to_dict()} for link in self.links],
        }
