"""One control tick, in order: load memory -> gather -> decide -> match -> apply -> save.

:func:`run_tick` is the controller's ``RunOnce``. It owns no client: every edge comes in through
:class:`Edges` (narrow protocols), the time comes in as ``now``. What it promises:

* A tick that cannot read its memory, Kafka or the platform changes nothing and says which
  edge failed (status ``unreachable``).
* A dry run gathers and decides exactly like a real tick and returns the plan, but applies
  nothing and saves nothing (status ``planned``).
* Apply is all or nothing: a failed action reverts the earlier ones, and the scheduler's memory
  stays as it was (status ``failed``, with the reason). When the new memory cannot be saved
  after a successful apply, the apply is reverted too, so platform and memory never disagree.
* Every decision, hold and action carries a reason: logged, returned, and kept in the record
  (``last_tick``) that the status endpoint shows.
* Ticks of one workflow never overlap: a tick takes the workflow's lease (:mod:`.lease`) before
  it reads the memory and gives it back after saving; one started while another holds it
  changes nothing and says who holds it (status ``skipped``).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..scheduler import MatchingInputError, StateError
from .apply import actions_of, execute, placement_differences, rebind, revert
from .config import ControllerConfig, ScalingSpec
from .errors import EdgeError
from .eventbus import NoEventBus
from .gather import Gathered, gather, units_of
from .planning import TickPlan, plan_tick
from .lease import LocalLease
from .ports import (Actuator, ClusterView, EventBusPending, FunctionMetrics, Matcher, OffsetReader,
                    TickLease)
from .routing import LinkRoutes, link_routes
from .state import Applied, ControllerRecord, StateStore

__all__ = ["Edges", "TickResult", "run_tick", "load_record", "DEFAULT_PERIOD_S"]

log = logging.getLogger("faas_etl.controller")
DEFAULT_PERIOD_S = 60.0


@dataclass(frozen=True)
class Edges:
    offsets: OffsetReader
    cluster: ClusterView
    metrics: FunctionMetrics
    actuator: Actuator
    matcher: Matcher
    store: StateStore
    bus: EventBusPending = field(default_factory=NoEventBus)
    lease: TickLease = field(default_factory=LocalLease)


@dataclass(frozen=True)
class TickResult:
    """What a tick did and why; ``to_dict`` is the function's answer and the status."""

    workflow: str
    at: float
    status: str  # applied | unchanged | planned | skipped | unreachable | failed
    reason: str
    dry_run: bool = False
    reasons: tuple[str, ...] = ()
    targets: Mapping[str, int] = field(default_factory=dict)
    units: tuple[dict, ...] = ()
    measurements: tuple[dict, ...] = ()
    actions: tuple[str, ...] = ()
    outcome: dict | None = None
    routes: tuple[dict, ...] = ()
    notes: tuple[str, ...] = ()
    plan: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "at": self.at, "status": self.status,
                "reason": self.reason, "dry_run": self.dry_run, "reasons": list(self.reasons),
                "targets": dict(self.targets), "units": list(self.units),
                "measurements": list(self.measurements), "actions": list(self.actions),
                "outcome": self.outcome, "routes": list(self.routes), "notes": list(self.notes),
                "plan": self.plan}


def load_record(store: StateStore, workflow: str) -> ControllerRecord:
    raw = store.load(workflow)
    return ControllerRecord(workflow) if raw is None else ControllerRecord.loads(raw)


def _period(spec: ScalingSpec, record: ControllerRecord, now: float) -> float:
    if spec.interval_s is not None:
        return spec.interval_s
    last = record.samples.busy_at
    return now - last if last is not None and now > last else DEFAULT_PERIOD_S


def _match(spec: ScalingSpec, plan: TickPlan, gathered: Gathered,
           matcher: Matcher) -> tuple[list[LinkRoutes], list[str]]:
    """Routes between the functions of adjacent operations, after the plan."""
    nodes = {n.name: n.topology for n in gathered.nodes}
    routes, notes = [], []
    functions = [op.function for op in spec.operations]
    for up, down in zip(functions, functions[1:]):
        if up == down or any((r.upstream, r.downstream) == (up, down) for r in routes):
            continue
        up_ends, down_ends = plan.endpoints.get(up, ()), plan.endpoints.get(down, ())
        if not up_ends or not down_ends:
            continue
        try:
            matching = matcher.match(up_ends, down_ends, nodes)
        except (EdgeError, MatchingInputError) as exc:
            notes.append(f"matching {up} -> {down} skipped: {exc}")
            continue
        routes.append(link_routes(up, down, matching, up_ends, down_ends))
    return routes, notes


def _plan_dict(plan: TickPlan) -> dict:
    return {"pipelines": [vars(p).copy() for p in plan.pipelines],
            "operations": [vars(d).copy() for d in plan.decisions],
            "placements": [vars(p).copy() for p in plan.placements],
            "removals": [vars(r).copy() for r in plan.removals],
            "held": [vars(h).copy() for h in plan.held]}


def run_tick(spec: ScalingSpec, config: ControllerConfig, edges: Edges, *, now: float,
             dry_run: bool = False, holder: str | None = None) -> TickResult:
    """Run one tick for ``spec``'s workflow (see the module docstring).

    A real tick first takes the workflow's lease (``holder`` names this tick in it); when
    another tick holds it, this one does nothing (status ``skipped``). A dry run changes
    nothing, so it takes no lease.
    """
    if dry_run:
        return _tick(spec, config, edges, now=now, dry_run=True)
    holder = holder or f"tick-{uuid.uuid4().hex[:12]}"
    try:
        grant = edges.lease.acquire(spec.workflow, holder, now, config.lease_s)
    except EdgeError as exc:
        return _stop(spec.workflow, now, False, f"cannot take the tick's lease, nothing changed: {exc}")
    if not grant.ok:
        return _log(TickResult(spec.workflow, now, "skipped",
                               f"another tick of {spec.workflow} is running ({grant.holder} holds "
                               f"the lease until {grant.until:.0f}): this one changed nothing"))
    try:
        return _tick(spec, config, edges, now=now, dry_run=False)
    finally:
        try:
            edges.lease.release(spec.workflow, holder)
        except EdgeError as exc:  # it expires on its own
            log.warning("%s: lease not released (%s); it expires in %gs", spec.workflow, exc,
                        config.lease_s)


def _tick(spec: ScalingSpec, config: ControllerConfig, edges: Edges, *, now: float,
          dry_run: bool) -> TickResult:
    workflow = spec.workflow
    try:
        record = load_record(edges.store, workflow)
    except (EdgeError, StateError) as exc:
        return _stop(workflow, now, dry_run, f"controller state unreadable, nothing changed: {exc}")
    units = units_of(spec, config.replica_cap)
    try:
        gathered = gather(spec, units, record.samples, offsets=edges.offsets,
                          cluster=edges.cluster, metrics=edges.metrics, now=now, bus=edges.bus)
    except EdgeError as exc:
        return _stop(workflow, now, dry_run, f"cannot gather, nothing changed: {exc}")
    period = _period(spec, record, now)
    current = {m.unit.function: m.function for m in gathered.units}
    # Replicas the platform renamed or replaced since the last tick keep their place in memory.
    bound = rebind(record.scheduler, current, {})
    plan = plan_tick(gathered, config, bound.state, interval_s=period,
                     last_change={f: a.at for f, a in record.applied.items()}, now=now,
                     last_set={f: a.replicas for f, a in record.applied.items()})
    routes, notes = _match(spec, plan, gathered, edges.matcher)
    notes = [n for n in bound.notes if "not running yet" not in n] + notes
    actions = actions_of(plan, current)
    # "<action>: <function> because <reason>": the dashboard reads the reason after "because".
    reasons = (_cap_reasons(spec, config) + plan.reasons
               + [f"{a.describe()}: {a.function} because {a.reason}" for a in actions])
    base = dict(workflow=workflow, at=now, dry_run=dry_run, targets=plan.targets,
                units=tuple(vars(u).copy() for u in plan.units),
                measurements=tuple(m.to_dict() for m in gathered.units),
                actions=tuple(a.describe() for a in actions),
                routes=tuple(r.to_dict() for r in routes), plan=_plan_dict(plan))
    if dry_run:
        return _log(TickResult(status="planned", reason=_summary(actions, "would"),
                               reasons=tuple(reasons), notes=tuple(notes), **base))
    outcome = execute(edges.actuator, actions)
    if not outcome.ok:
        reason = (f"apply failed at '{outcome.failed.describe()}': {outcome.error}; reverted "
                  f"{len(outcome.reverted)} of {len(outcome.applied)} earlier actions; the "
                  "scheduler's memory is unchanged")
        result = TickResult(status="failed", reason=reason, reasons=tuple(reasons),
                            outcome=outcome.to_dict(), notes=tuple(notes), **base)
        _save_quietly(edges.store, replace(record, samples=gathered.samples,
                                           last_tick=_status(result), ticks=record.ticks + 1))
        return _log(result)
    state, applied = plan.state, dict(record.applied)
    if outcome.applied:
        running = {}
        try:
            running = {f: edges.cluster.function(f) for f in {a.function for a in outcome.applied}}
        except EdgeError as exc:
            notes.append(f"could not read the replicas back after applying: {exc}")
        if running:
            rebound = rebind(state, running, current)
            state = rebound.state
            notes += list(rebound.notes) + placement_differences(plan, running)
        for unit in plan.units:
            if unit.target != current[unit.function].desired:
                applied[unit.function] = Applied(unit.target, now)
    status = "applied" if outcome.applied else "unchanged"
    result = TickResult(status=status, reason=_summary(actions, "did"), reasons=tuple(reasons),
                        outcome=outcome.to_dict(), notes=tuple(notes), **base)
    new_record = ControllerRecord(workflow, state, gathered.samples, applied,
                                  [r.to_dict() for r in routes], _status(result),
                                  record.ticks + 1)
    try:
        edges.store.save(workflow, new_record.dumps())
    except EdgeError as exc:
        undone, errors = revert(edges.actuator, outcome.applied)
        reason = (f"state not saved ({exc}); reverted {len(undone)} of {len(outcome.applied)} "
                  "actions so the platform matches the memory" + (f" ({'; '.join(errors)})"
                                                                  if errors else ""))
        return _log(replace(result, status="failed", reason=reason,
                            outcome={**outcome.to_dict(), "reverted": [a.describe() for a in undone],
                                     "revert_errors": list(errors)}))
    return _log(result)


def _cap_reasons(spec: ScalingSpec, config: ControllerConfig) -> list[str]:
    """One line per function whose workflow bounds the platform narrows (CE: 1..5)."""
    cap = config.replica_cap
    if cap is None:
        return []
    lines, seen = [], set()
    for op in spec.operations:
        if op.max_replicas > cap and op.function not in seen:
            seen.add(op.function)
            where = " (OpenFaaS CE allows 1..5 replicas)" if config.platform == "openfaas-ce" else ""
            lines.append(f"{op.function}: max_replicas {op.max_replicas} lowered to {cap}, the "
                         f"platform's most (PLATFORM_MAX_REPLICAS){where}")
    return lines


def _summary(actions: list, verb: str) -> str:
    if not actions:
        return "nothing to change: every function is at its target"
    return f"{verb} {len(actions)} action(s): " + "; ".join(a.describe() for a in actions)


def _status(result: TickResult) -> dict:
    """What the status endpoint shows of a tick (the full plan is left out)."""
    return {k: v for k, v in result.to_dict().items() if k != "plan"}


def _stop(workflow: str, now: float, dry_run: bool, reason: str) -> TickResult:
    return _log(TickResult(workflow, now, "unreachable", reason, dry_run))


def _save_quietly(store: StateStore, record: ControllerRecord) -> None:
    try:
        store.save(record.workflow, record.dumps())
    except EdgeError as exc:
        log.warning("%s: state not saved after a failed apply: %s", record.workflow, exc)


def _log(result: TickResult) -> TickResult:
    level = logging.WARNING if result.status in ("unreachable", "failed") else logging.INFO
    log.log(level, "%s [%s]: %s", result.workflow, result.status, result.reason)
    for line in result.reasons:
        log.info("%s: %s", result.workflow, line)
    for line in result.notes:
        log.warning("%s: %s", result.workflow, line)
    return result

