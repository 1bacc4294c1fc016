"""The autoscale controller: gather -> decide -> apply, once per tick.

* :mod:`.config`: the tick's envelope (:class:`ScalingSpec`) and the environment
  (:class:`ControllerConfig`), typed and validated before any client opens.
* :mod:`.measure`: rates, backlog and velocities as pure functions over offsets and counters.
* :mod:`.gather`: reads the edges once and measures each scaled function (a *unit*).
* :mod:`.planning`: the scheduler core (:func:`etlkit.scheduler.decide`) over the units, bounds.
* :mod:`.apply`: the actions a plan needs, run all or none, and the memory bound to the result.
* :mod:`.routing`: the matching as routes a data path follows, and the counters that price it.
* :mod:`.state`: the memory between ticks (a compacted Kafka topic, or files).
* :mod:`.tick`: :func:`run_tick`, the sequence.
* Edges: :mod:`.kafka_offsets` (Kafka), :mod:`.gateway` (the OpenFaaS gateway and the local
  platform), :mod:`.kubernetes` (the Kubernetes API), :mod:`.relay` (a data path that follows
  the routes); :mod:`.wiring` picks them from the configuration.

Pure modules (config, measure, gather, planning, apply, routing, tick) never import a client;
they depend on the narrow protocols of :mod:`.ports`.
"""
from .config import ControllerConfig, InputSpec, OperationSpec, ScalingSpec, parse_scaling
from .errors import ApplyError, ConfigError, EdgeError
from .ports import (Actuator, ClusterView, FunctionMetrics, FunctionReplicas, Matcher,
                    OffsetReader, Replica, TopicOffsets)
from .state import ControllerRecord, FileStateStore, KafkaStateStore, StateStore
from .tick import Edges, TickResult, run_tick

__all__ = ["ControllerConfig", "ScalingSpec", "OperationSpec", "InputSpec", "parse_scaling",
           "ConfigError", "EdgeError", "ApplyError", "Actuator", "ClusterView",
           "FunctionMetrics", "FunctionReplicas", "Matcher", "OffsetReader", "Replica",
           "TopicOffsets", "ControllerRecord", "StateStore", "FileStateStore",
           "KafkaStateStore", "Edges", "TickResult", "run_tick"]
