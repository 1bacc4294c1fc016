"""Decide: the scheduler core over the gathered units, then the bounds and the endpoints to match.

Pure, with ``now`` passed in. Each unit is one scheduler pipeline (its input topics are its
source) with one operation (its function), so a unit is sized for its own input rate, backlog
and tolerances, as the workflow's scaling section states them. Units with the same tolerances
are decided together (they share node loads); a group sees the other groups' replicas, and what
earlier groups placed, as background load, so placements never double-book a node.

A unit is *held* (left as it is, its memory carried over) when it cannot be decided this tick:
its input rate needs a second sample, or the platform is still starting or placing replicas the
controller asked for. Every hold, like every decision, carries its reason. A held unit whose
replica count is outside its bounds (an operator just changed them) is still brought within.

A unit whose desired replica count is no longer what the controller last set is *restored*: it
is set back to that count (within its bounds) and left out of this tick's decision, its memory
carried over. On OpenFaaS that is a deploy (faas-netes sets the Deployment's replicas to
``com.openfaas.scale.min`` on every update: openfaas/faas-netes 0.18.17
``pkg/handlers/update.go`` updateDeploymentSpec), or CE's own alert scaling where it was not
switched off; the reason says which count was found and which was set back. On a function other
workflows also scale, the tick passes the units whose count matches neither the claims'
composition nor a count a claimant set (``outside``, :mod:`.sharing`): their share is kept at the
last claim, with the tick's reason, and the composition sets the count back.

After the scheduler, each unit's target is kept within its bounds (the scheduler never goes
above ``max_replicas`` on its own, but a replica count set by hand above it is brought back);
only an idle source on a platform that can scale to zero goes below ``min_replicas``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..scheduler import (ControllerState, Endpoint, Node, Observation, Operation,
                         OperationDecision, Pipeline, PipelineDecision, Placement, Removal,
                         Service, decide)
from .config import ControllerConfig
from .gather import Gathered, Unit, UnitMeasure

__all__ = ["Held", "UnitPlan", "TickPlan", "plan_tick", "endpoints_after", "with_background"]

SETTLE_PERIODS = 4  # a change of ours may take this many control periods to show up


@dataclass(frozen=True)
class Held:
    function: str
    reason: str


@dataclass(frozen=True)
class UnitPlan:
    """The decision for one unit: replicas before and after, where they run after, why."""

    function: str
    current: int
    target: int
    action: str
    reason: str
    nodes_after: Mapping[str, int]  # node -> replicas after the plan


@dataclass(frozen=True)
class TickPlan:
    units: tuple[UnitPlan, ...]
    held: tuple[Held, ...]
    pipelines: tuple[PipelineDecision, ...]
    decisions: tuple[OperationDecision, ...]
    placements: tuple[Placement, ...]
    removals: tuple[Removal, ...]
    state: ControllerState
    endpoints: Mapping[str, tuple[Endpoint, ...]] = field(default_factory=dict)

    @property
    def targets(self) -> dict[str, int]:
        return {u.function: u.target for u in self.units}

    @property
    def reasons(self) -> list[str]:
        """Every reason of the tick, one line each: pipelines, units, holds."""
        return ([p.reason for p in self.pipelines] + [u.reason for u in self.units]
                + [f"{h.function}: held, {h.reason}" for h in self.held])


def _hold_reason(m: UnitMeasure, last_change: float | None, period_s: float, now: float,
                 nodes: set[str]) -> str | None:
    if m.missing:
        return m.missing
    strays = sorted({r.node for r in m.function.replicas} - nodes)
    if strays:
        return f"replicas on nodes the controller does not know: {', '.join(strays)}"
    if m.production_rate.value is None:
        return f"input rate not measured yet ({m.production_rate.reason})"
    listed = len(m.function.replicas)
    starting = sum(not r.ready for r in m.function.replicas)
    recent = last_change is not None and now - last_change < SETTLE_PERIODS * period_s
    if recent and (listed != m.function.desired or starting):
        return (f"settling: {listed - starting} of {m.function.desired} replicas ready since the "
                f"last change")
    return None


def _pipeline(m: UnitMeasure) -> Pipeline:
    velocity = m.velocity.value or 0.0
    services = tuple(Service(r.id, r.node, velocity if r.ready else 0.0, r.ready)
                     for r in m.function.replicas)
    op = Operation(m.unit.function, services, weight=m.function.weight,
                   min_replicas=m.unit.min_replicas, max_replicas=m.unit.max_replicas)
    return Pipeline(m.unit.function, m.production_rate.value or 0.0, float(m.backlog), (op,))


def with_background(nodes: Sequence[Node], extra: Mapping[str, float]) -> tuple[Node, ...]:
    """``nodes`` with ``extra`` load (per node name) added to what the scheduler does not own."""
    return tuple(replace(n, background_load=n.background_load + extra.get(n.name, 0.0))
                 for n in nodes)


def _bounded(unit: Unit, current: int, target: int, idle_zero: bool) -> tuple[int, str]:
    if target > unit.max_replicas:
        return unit.max_replicas, f"; brought to max_replicas {unit.max_replicas}"
    if target < unit.min_replicas and not (idle_zero and target == 0):
        return unit.min_replicas, f"; kept at min_replicas {unit.min_replicas}"
    if current < unit.min_replicas <= target:
        return target, f"; raised to min_replicas {unit.min_replicas}"
    return target, ""


def _held_within_bounds(m: UnitMeasure, reason: str) -> UnitPlan | None:
    """A held unit still obeys its bounds (an operator may have just changed them); a function
    at zero stays there (idle, on a platform that allows it) until a decision wakes it."""
    desired, unit = m.function.desired, m.unit
    if m.missing or desired == 0 or unit.min_replicas <= desired <= unit.max_replicas:
        return None
    target = min(max(desired, unit.min_replicas), unit.max_replicas)
    bound = f"min_replicas {unit.min_replicas}" if target > desired else f"max_replicas {unit.max_replicas}"
    nodes: dict[str, int] = {}
    for r in m.function.replicas:
        nodes[r.node] = nodes.get(r.node, 0) + 1
    return UnitPlan(unit.function, desired, target, "bounds",
                    f"{unit.function}: held ({reason}) but {desired} replicas is outside its "
                    f"bounds: set to {bound} (operations {', '.join(unit.operations)})", nodes)


def _restored(m: UnitMeasure, last_set: int | None,
              outside: tuple[int, str] | None = None) -> UnitPlan | None:
    """Set back a count changed behind the controller's back (see the module docstring);
    ``outside`` (share, reason): a shared function's, judged by the tick."""
    desired, unit = m.function.desired, m.unit
    if m.missing or (outside is None and (last_set is None or desired == last_set)):
        return None
    nodes: dict[str, int] = {}
    for r in m.function.replicas:
        nodes[r.node] = nodes.get(r.node, 0) + 1
    if outside is not None:
        share, why = outside
        return UnitPlan(unit.function, desired, share, "restore",
                        f"{why} (operations {', '.join(unit.operations)})", nodes)
    assert last_set is not None
    target = min(max(last_set, unit.min_replicas), unit.max_replicas)
    return UnitPlan(unit.function, desired, target, "restore",
                    f"{unit.function}: {desired} replicas desired, but the controller last set "
                    f"{last_set}: changed outside it (a deploy resets replicas to "
                    f"com.openfaas.scale.min), set back to {target} (operations "
                    f"{', '.join(unit.operations)})", nodes)


def plan_tick(gathered: Gathered, config: ControllerConfig, state: ControllerState, *,
              interval_s: float, last_change: Mapping[str, float], now: float,
              last_set: Mapping[str, int] | None = None,
              outside: Mapping[str, tuple[int, str]] | None = None) -> TickPlan:
    """Decide every unit of ``gathered`` (see the module docstring); ``last_set`` is the replica
    count the controller last set on each function; ``outside`` the shared functions changed
    outside the controllers (share to keep, reason)."""
    held: list[Held] = []
    ready: list[UnitMeasure] = []
    restored: list[UnitPlan] = []
    known = {n.name for n in gathered.nodes}
    for m in gathered.units:
        restore = _restored(m, (last_set or {}).get(m.unit.function),
                            (outside or {}).get(m.unit.function))
        if restore is not None:
            restored.append(restore)
            continue
        reason = _hold_reason(m, last_change.get(m.unit.function), interval_s, now, known)
        if reason:
            held.append(Held(m.unit.function, reason))
        else:
            ready.append(m)
    groups: dict[tuple[float, float], list[UnitMeasure]] = {}
    for m in ready:
        groups.setdefault((m.unit.dtt_s, m.unit.dtc), []).append(m)
    # Load of every unit's current replicas; a group's own units are subtracted when it decides.
    load: dict[str, float] = {}
    for m in gathered.units:
        for r in m.function.replicas:
            load[r.node] = load.get(r.node, 0.0) + m.function.weight
    pipelines, decisions, placements, removals = [], [], [], []
    for (dtt, dtc), members in sorted(groups.items()):
        own: dict[str, float] = {}
        for m in members:
            for r in m.function.replicas:
                own[r.node] = own.get(r.node, 0.0) + m.function.weight
        background = {n: load.get(n, 0.0) - own.get(n, 0.0) for n in load}
        policy = config.policy(interval_s=interval_s, dtt_s=dtt, dtc=dtc)
        observed = Observation(tuple(_pipeline(m) for m in members),
                               with_background(gathered.nodes, background))
        plan = decide(observed, policy, state, now)
        state = plan.state
        weights = {m.unit.function: m.function.weight for m in members}
        for p in plan.placements:
            load[p.node] = load.get(p.node, 0.0) + weights[p.operation]
        for r in plan.removals:
            load[r.node] = load.get(r.node, 0.0) - weights[r.operation]
        pipelines += plan.pipelines
        decisions += plan.operations
        placements += plan.placements
        removals += plan.removals
    units, endpoints = _unit_plans(gathered, decisions, placements, removals, held, config,
                                   {r.function for r in restored})
    for r in restored:
        m = next(m for m in gathered.units if m.unit.function == r.function)
        endpoints[r.function] = endpoints_after(m, (), (), m.velocity.value or 0.0)
    units += restored
    return TickPlan(tuple(units), tuple(held), tuple(pipelines), tuple(decisions),
                    tuple(placements), tuple(removals), state, endpoints)


def _unit_plans(gathered: Gathered, decisions: Sequence[OperationDecision],
                placements: Sequence[Placement], removals: Sequence[Removal],
                held: Sequence[Held], config: ControllerConfig, restored: set[str]
                ) -> tuple[list[UnitPlan], dict[str, tuple[Endpoint, ...]]]:
    by_function = {d.operation: d for d in decisions}
    held_reasons = {h.function: h.reason for h in held}
    units, endpoints = [], {}
    for m in gathered.units:
        name = m.unit.function
        replicas = m.function.replicas
        if name in restored:
            continue
        if name in held_reasons:
            endpoints[name] = endpoints_after(m, (), (), m.velocity.value or 0.0)
            bounded = _held_within_bounds(m, held_reasons[name])
            if bounded is not None:
                units.append(bounded)
            continue
        d = by_function[name]
        gone = {r.service_id for r in removals if r.operation == name}
        added = [p for p in placements if p.operation == name]
        after = endpoints_after(m, gone, added, d.per_service)
        endpoints[name] = after
        target, note = _bounded(m.unit, len(replicas), d.target,
                                config.scale_to_zero and d.action == "to-zero")
        nodes: dict[str, int] = {}
        for e in after:
            nodes[e.node] = nodes.get(e.node, 0) + 1
        units.append(UnitPlan(name, len(replicas), target, d.action,
                              f"{d.reason}{note} (operations {', '.join(m.unit.operations)})",
                              dict(sorted(nodes.items()))))
    return units, endpoints


def endpoints_after(m: UnitMeasure, gone: set[str] | tuple, added: Sequence[Placement],
                    per_service: float) -> tuple[Endpoint, ...]:
    """The unit's services after the plan as the matcher sees them: measured velocity when
    ready and measured, else the per-service mean the scheduler counted them at."""
    velocity = m.velocity.value
    out = [Endpoint(r.id, r.node, velocity if (r.ready and velocity) else per_service)
           for r in m.function.replicas if r.id not in gone]
    out += [Endpoint(p.service_id, p.node, per_service) for p in added]
    return tuple(out)
