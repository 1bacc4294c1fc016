"""What the controller gathered in one tick: nodes, and per pipeline its source and services.

Plain numbers and strings in frozen dataclasses, validated on construction so that a bad
observation fails at the edge with the path of the culprit, not deep inside a decision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ObservationError, require
from .topology import NodeTopology

__all__ = ["Node", "Service", "Operation", "Pipeline", "Observation"]


def _rate(value: float, field: str) -> None:
    require(isinstance(value, (int, float)) and math.isfinite(value) and value >= 0,
            ObservationError, field, "must be a finite number >= 0", value)


@dataclass(frozen=True)
class Node(NodeTopology):
    """A node: topology labels, capacity in load units, and load the scheduler does not own.

    ``capacity`` bounds the summed weights of services on the node (inf: unbounded);
    ``background_load`` is what other workloads already use of it.
    """

    capacity: float = math.inf
    background_load: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.capacity > 0, ObservationError, f"nodes[{self.name}].capacity",
                "must be > 0 (inf for unbounded)", self.capacity)
        _rate(self.background_load, f"nodes[{self.name}].background_load")

    @property
    def topology(self) -> NodeTopology:
        return NodeTopology(self.name, self.region, self.zone, self.hostname)


@dataclass(frozen=True)
class Service:
    """One running instance of an operation.

    ``velocity`` is its measured maximum consumption velocity (records/s, OMV in the paper);
    a service that is still starting (``ready=False``) is planned at the operation's mean.
    """

    service_id: str
    node: str
    velocity: float = 0.0
    ready: bool = True


@dataclass(frozen=True)
class Operation:
    """One step of a pipeline and its services, in the order they run.

    ``weight`` is the load one service puts on a node (the paper's WS, e.g. its CPU request);
    ``nominal_velocity`` sizes the operation before any service has been measured.
    """

    name: str
    services: tuple[Service, ...] = ()
    weight: float = 1.0
    min_replicas: int = 1
    max_replicas: int = 20
    nominal_velocity: float = 0.0

    def __post_init__(self) -> None:
        where = f"operations[{self.name}]"
        require(bool(self.name), ObservationError, f"{where}.name", "must be non-empty")
        require(self.weight > 0 and math.isfinite(self.weight), ObservationError,
                f"{where}.weight", "must be finite and > 0", self.weight)
        require(isinstance(self.min_replicas, int) and self.min_replicas >= 0,
                ObservationError, f"{where}.min_replicas", "must be an int >= 0",
                self.min_replicas)
        require(isinstance(self.max_replicas, int)
                and self.max_replicas >= max(1, self.min_replicas), ObservationError,
                f"{where}.max_replicas", "must be an int >= max(1, min_replicas)",
                self.max_replicas)
        _rate(self.nominal_velocity, f"{where}.nominal_velocity")
        for k, service in enumerate(self.services):
            _rate(service.velocity, f"{where}.services[{k}].velocity")


@dataclass(frozen=True)
class Pipeline:
    """A source and the chain of operations that consume it.

    ``production_rate``: records/s the source produced over the last control period;
    ``backlog``: records produced and not yet through the pipeline (C in the paper).
    """

    source: str
    production_rate: float
    backlog: float
    operations: tuple[Operation, ...]

    def __post_init__(self) -> None:
        require(bool(self.source), ObservationError, "pipeline.source", "must be non-empty")
        _rate(self.production_rate, f"pipelines[{self.source}].production_rate")
        _rate(self.backlog, f"pipelines[{self.source}].backlog")
        require(len(self.operations) > 0, ObservationError,
                f"pipelines[{self.source}].operations", "must name at least one operation")


@dataclass(frozen=True)
class Observation:
    """Everything :func:`~etlkit.scheduler.decide.decide` needs from one tick."""

    pipelines: tuple[Pipeline, ...]
    nodes: tuple[Node, ...]

    def __post_init__(self) -> None:
        names = [node.name for node in self.nodes]
        require(len(set(names)) == len(names), ObservationError, "nodes",
                "node names must be unique")
        require(len(self.nodes) > 0, ObservationError, "nodes", "must list at least one node")
        known = set(names)
        sources: set[str] = set()
        operations: set[str] = set()
        services: set[str] = set()
        for pipeline in self.pipelines:
            require(pipeline.source not in sources, ObservationError,
                    f"pipelines[{pipeline.source}].source", "must be unique")
            sources.add(pipeline.source)
            for op in pipeline.operations:
                require(op.name not in operations, ObservationError,
                        f"operations[{op.name}].name", "must be unique across pipelines")
                operations.add(op.name)
                for k, service in enumerate(op.services):
                    where = f"operations[{op.name}].services[{k}]"
                    require(service.node in known, ObservationError, f"{where}.node",
                            "must name an observed node", service.node)
                    require(service.service_id not in services, ObservationError,
                            f"{where}.service_id", "must be unique", service.service_id)
                    services.add(service.service_id)
