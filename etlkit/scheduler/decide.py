"""The one entry point of the scheduler core: ``decide(observed, policy, state, now) -> Plan``.

Pure: no clock (``now`` is an argument), no I/O, deterministic for equal inputs. Per pipeline:
forecast the source's rate, derive the required velocity CVm, size every operation, place the
services to add (GLB) and pick those to remove, then match adjacent operations' services at
minimum network cost. The controller applies the plan and persists ``plan.state``.
"""
from __future__ import annotations

from dataclasses import replace

from .counts import size_operation
from .forecast import Forecaster, last_value_forecast, lrr_forecast
from .matching import Endpoint, match_services
from .observation import Observation, Operation, Pipeline, Service
from .placement import choose_removals, node_loads, place_services
from .plan import Link, OperationDecision, PipelineDecision, Placement, Plan, Removal
from .policy import Policy
from .state import AddedService, ControllerState, OperationState, SourceState
from .velocity import operation_velocity, pipeline_velocity, required_rate, scale_in_rate

__all__ = ["decide"]

_FORECASTS: dict[str, Forecaster] = {"lrr": lrr_forecast, "last": last_value_forecast}


def _source_state(pipeline: Pipeline, previous: SourceState, policy: Policy,
                  now: float) -> SourceState:
    history = (previous.history + (float(pipeline.production_rate),))[-policy.window:]
    active = pipeline.production_rate > 0 or pipeline.backlog > 0
    idle_since = None if active else (previous.idle_since if previous.idle_since is not None
                                      else now)
    return SourceState(history, idle_since)


class _Tick:
    """Accumulates one tick's decisions across pipelines (loads are shared by all of them)."""

    def __init__(self, observed: Observation, policy: Policy, state: ControllerState,
                 now: float) -> None:
        self.policy, self.state, self.now = policy, state, now
        self.nodes = {node.name: node for node in observed.nodes}
        self.node_list = sorted(observed.nodes, key=lambda n: n.name)
        self.loads = node_loads(observed.nodes,
                                (op for p in observed.pipelines for op in p.operations))
        self.operations: list[OperationDecision] = []
        self.placements: list[Placement] = []
        self.removals: list[Removal] = []
        self.links: list[Link] = []
        self.sources = dict(state.sources)
        self.op_states = dict(state.operations)
        # Ids the plan must not hand out again (the controller may name its own services
        # like ours).
        self.taken = {s.service_id for p in observed.pipelines for op in p.operations
                      for s in op.services}

    def pipeline(self, pipeline: Pipeline) -> PipelineDecision:
        policy = self.policy
        source = _source_state(pipeline, self.state.source(pipeline.source), policy, self.now)
        self.sources[pipeline.source] = source
        forecast = _FORECASTS[policy.forecast](source.history, horizon=policy.horizon_steps,
                                               safety=policy.safety)
        idle = (policy.scale_to_zero and source.idle_since is not None
                and self.now - source.idle_since >= policy.idle_after_s)
        required = required_rate(forecast, pipeline.backlog, policy.target_backlog,
                                 policy.tolerance_time_s)
        required_in = scale_in_rate(forecast, pipeline.backlog, policy.target_backlog,
                                    policy.refill_s, policy.dead_band, required)
        planned = [self.operation(op, required, required_in, idle)
                   for op in pipeline.operations]
        velocity = pipeline_velocity(decision.capacity for decision, _ in planned)
        if policy.match_services:
            for (up_op, up), (down_op, down) in zip(planned, planned[1:]):
                self.links.append(Link(up_op.operation, down_op.operation,
                                       match_services(up, down, self.nodes)))
        reason = (f"{pipeline.source}: rate {pipeline.production_rate:.1f} rec/s, forecast "
                  f"{forecast:.1f}, backlog {pipeline.backlog:.0f} (target "
                  f"{policy.target_backlog:.0f}, DTT {policy.tolerance_time_s:g}s) -> required "
                  f"{required:.1f} rec/s, scale-in rate {required_in:.1f}; pipeline velocity "
                  f"{velocity:.1f}")
        return PipelineDecision(pipeline.source, pipeline.production_rate, pipeline.backlog,
                                forecast, required, required_in, velocity, idle, reason)

    def operation(self, op: Operation, required: float, required_in: float,
                  idle: bool) -> tuple[OperationDecision, list[Endpoint]]:
        """Size ``op``, place or pick the services that change, record state and decision.

        Returns the decision and the services after it, as the matcher sees them.
        """
        previous = self.state.operation(op.name)
        running = {s.service_id: s for s in op.services}
        # Reconcile: an added service that is no longer observed has gone (crashed, evicted).
        added = [a for a in previous.added if a.service_id in running]
        velocity = operation_velocity(op.services, previous.velocity or op.nominal_velocity)
        sizing = size_operation(
            name=op.name, current=len(op.services), capacity=velocity.capacity,
            per_service=velocity.per_service, required=required, required_in=required_in,
            removable=len(added),
            min_replicas=op.min_replicas, max_replicas=op.max_replicas, idle=idle,
            recommendations=previous.recommendations, now=self.now, policy=self.policy)
        services = list(op.services)
        next_index = previous.next_index
        reason = sizing.reason
        if sizing.target > len(services):
            nodes = place_services(sizing.target - len(services), op.weight, self.node_list,
                                   self.loads)
            for node in nodes:
                service_id = f"{op.name}-{next_index}"
                while service_id in self.taken:
                    next_index += 1
                    service_id = f"{op.name}-{next_index}"
                next_index += 1
                self.taken.add(service_id)
                self.placements.append(Placement(op.name, service_id, node))
                added.append(AddedService(service_id, node, self.now))
                services.append(Service(service_id, node, velocity.per_service, ready=False))
            if len(nodes) < sizing.target - len(op.services):
                reason += f"; only {len(nodes)} placed: no node has room for weight {op.weight:g}"
        elif sizing.target < len(services):
            if sizing.action == "to-zero":
                gone = [running[a.service_id] for a in reversed(added)]
                gone += [s for s in op.services if s not in gone]
                added = []
            else:
                picked = choose_removals(len(services) - sizing.target, op.weight, added,
                                         self.nodes, self.loads)
                gone = [running[a.service_id] for a in picked]
                added = [a for a in added if a not in picked]
            for service in gone:
                self.removals.append(Removal(op.name, service.service_id, service.node))
            services = [s for s in services if s not in gone]
        self.op_states[op.name] = OperationState(
            tuple(added), next_index, sizing.recommendations,
            velocity.per_service if velocity.ready else previous.velocity)
        decision = OperationDecision(op.name, len(op.services), len(services), sizing.action,
                                     velocity.capacity, velocity.per_service, reason)
        self.operations.append(decision)
        endpoints = [Endpoint(s.service_id, s.node, s.velocity if s.ready and s.velocity > 0
                              else velocity.per_service) for s in services]
        return decision, endpoints


def decide(observed: Observation, policy: Policy, state: ControllerState,
           now: float) -> Plan:
    """Decide service counts, placements, removals and matchings for one tick.

    Parameters
    ----------
    observed : Observation
        Nodes, and per pipeline its source's rate and backlog and its operations' services.
    policy : Policy
        Tolerances, forecast and hysteresis settings.
    state : ControllerState
        Memory from the previous tick (``ControllerState()`` for the first).
    now : float
        Current time in seconds (any epoch, monotonic across ticks); never read from a clock.

    Returns
    -------
    Plan
        Per pipeline and operation decisions with reasons, the services to start (with their
        nodes) and to stop, the matching between adjacent operations, and the next state.
        Pipelines are handled in source-name order, so the output does not depend on the order
        the controller listed them in. The state of a source or operation missing from this
        observation is carried over unchanged (a pipeline that drops out of one gather keeps
        its memory of the services it added).
    """
    tick = _Tick(observed, policy, state, now)
    pipelines = tuple(tick.pipeline(p) for p in sorted(observed.pipelines,
                                                       key=lambda p: p.source))
    next_state = replace(state, sources=tick.sources, operations=tick.op_states)
    return Plan(pipelines, tuple(tick.operations), tuple(tick.placements),
                tuple(tick.removals), tuple(tick.links), next_state)
