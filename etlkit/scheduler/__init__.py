"""The elastic scheduler core: pure decisions, no I/O.

Forecast a source's production rate, derive the minimum pipeline velocity, size every
operation, place new services on nodes, and match upstream to downstream services at minimum
network cost. The controller calls :func:`decide` once per tick (gather -> decide -> apply)
and persists ``plan.state`` (``to_dict`` / ``from_dict``) between ticks.

>>> from etlkit.scheduler import (ControllerState, Node, Observation, Operation, Pipeline,
...                               Policy, Service, decide)
>>> ops = (Operation("map", (Service("map-a", "n1", 100.0),), nominal_velocity=100.0),)
>>> observed = Observation((Pipeline("orders", 250.0, 15_000.0, ops),), (Node("n1"),))
>>> plan = decide(observed, Policy(), ControllerState(), now=0.0)
>>> plan.targets
{'map': 3}
"""
from .decide import decide
from .errors import (MatchingInputError, ObservationError, PolicyError, SchedulerError,
                     SchedulerInputError, StateError)
from .forecast import last_value_forecast, lrr_forecast
from .matching import ALGORITHMS, Endpoint, Flow, ServiceMatching, match_services
from .mincostflow import min_cost_max_flow
from .observation import Node, Observation, Operation, Pipeline, Service
from .plan import Link, OperationDecision, PipelineDecision, Placement, Plan, Removal
from .policy import Policy
from .state import AddedService, ControllerState, OperationState, SourceState
from .topology import NodeTopology, distance_matrix, topology_distance
from .transport import Transport

__all__ = [
    "decide", "Observation", "Pipeline", "Operation", "Service", "Node", "Policy",
    "ControllerState", "SourceState", "OperationState", "AddedService", "Plan",
    "PipelineDecision", "OperationDecision", "Placement", "Removal", "Link",
    "lrr_forecast", "last_value_forecast", "match_services", "Endpoint", "Flow",
    "ServiceMatching", "ALGORITHMS", "min_cost_max_flow", "Transport", "NodeTopology",
    "topology_distance", "distance_matrix", "SchedulerError", "SchedulerInputError",
    "PolicyError", "ObservationError", "StateError", "MatchingInputError",
]
