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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..scheduler import MatchingInputError, StateError
from .apply import Scale, actions_of, execute, placement_differences, rebind, revert
from .claims import LocalClaims
from .config import ControllerConfig, ScalingSpec
from .errors import EdgeError
from .eventbus import NoEventBus
from .gather import Gathered, gather, units_of
from .planning import TickPlan, plan_tick
from .lease import LocalLease
from .ports import (Actuator, ClaimBoard, ClusterView, EventBusPending, FunctionMetrics,
                    FunctionReplicas, Matcher, OffsetReader, TickLease)
from .routing import LinkRoutes, link_routes
from .sharing import (CLAIM_PERIODS, Claim, Composition, Share, compose, explained_by,
                      live_claims, narrowed, others_rate, platform_units, serving_after, share_of)
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
    claims: ClaimBoard = field(default_factory=LocalClaims)


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
    claims: tuple[dict, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "at": self.at, "status": self.status,
                "reason": self.reason, "dry_run": self.dry_run, "reasons": list(self.reasons),
                "targets": dict(self.targets), "units": list(self.units),
                "measurements": list(self.measurements), "actions": list(self.actions),
                "outcome": self.outcome, "routes": list(self.routes), "notes": list(self.notes),
                "plan": self.plan, "claims": list(self.claims)}


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
        board = live_claims(edges.claims.read(), now)
    except (EdgeError, StateError) as exc:
        return _stop(workflow, now, dry_run, f"controller state unreadable, nothing changed: {exc}")
    units = units_of(spec, config.replica_cap)
    mine = {f: c for f, cs in board.items() for c in cs if c.workflow == workflow}
    others = _others(board, workflow, [u.function for u in units])
    try:
        gathered = gather(spec, units, record.samples, offsets=edges.offsets,
                          cluster=edges.cluster, metrics=edges.metrics, now=now, bus=edges.bus,
                          others_rates={f: others_rate(cs) for f, cs in others.items() if cs})
    except EdgeError as exc:
        return _stop(workflow, now, dry_run, f"cannot gather, nothing changed: {exc}")
    period = _period(spec, record, now)
    shares = {m.unit.function: share_of(m.function, mine.get(m.unit.function),
                                        others[m.unit.function], m.unit.min_replicas)
              for m in gathered.units if not m.missing}
    whole = {m.unit.function: m.function for m in gathered.units}
    seen = narrowed(gathered, shares)
    current = {m.unit.function: m.function for m in seen.units}
    # Replicas the platform renamed or replaced since the last tick keep their place in memory.
    bound = rebind(record.scheduler, current, {})
    last_set = {f: mine[f].set if f in mine else a.replicas for f, a in record.applied.items()
                if not (f in shares and shares[f].shared)}
    plan = plan_tick(seen, config, bound.state, interval_s=period,
                     last_change={f: a.at for f, a in record.applied.items()}, now=now,
                     last_set=last_set, outside=_outside(shares, mine, config))
    routes, notes = _match(spec, plan, seen, edges.matcher)
    notes = [n for n in bound.notes if "not running yet" not in n] + notes
    claims = _claims(workflow, plan, seen, shares, period, now)
    comps = _compositions(claims, others, config)
    staged = replace(plan, units=tuple(platform_units(plan.units, comps, shares)))
    if not dry_run:
        try:
            # Posted before applying, then the others' claims read again: of two ticks at the
            # same instant, the one that posts second sees the first's claim (see .sharing).
            edges.claims.post(workflow, _with_set(claims, _counts(staged, whole)))
            others = _others(live_claims(edges.claims.read(), now), workflow, list(shares))
        except (EdgeError, StateError) as exc:
            return _stop(workflow, now, False, f"cannot post the claims, nothing changed: {exc}")
        comps = _compositions(claims, others, config)
        staged = replace(plan, units=tuple(platform_units(plan.units, comps, shares)))
    actions = actions_of(staged, whole)
    # "<action>: <function> because <reason>": the dashboard reads the reason after "because".
    reasons = (_cap_reasons(spec, config) + plan.reasons + _shared_reasons(comps)
               + [f"{a.describe()}: {a.function} because {a.reason}" for a in actions])
    base = dict(workflow=workflow, at=now, dry_run=dry_run, targets=staged.targets,
                units=tuple(vars(u).copy() for u in plan.units),
                measurements=tuple(m.to_dict() for m in gathered.units),
                actions=tuple(a.describe() for a in actions),
                routes=tuple(r.to_dict() for r in routes), plan=_plan_dict(plan),
                claims=tuple(c.to_dict() for c in _with_set(claims, _counts(staged, whole))))
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
        _post_quietly(edges, workflow, list(mine.values()))
        _save_quietly(edges.store, replace(record, samples=gathered.samples,
                                           last_tick=_status(result), ticks=record.ticks + 1))
        return _log(result)
    counts = _counts(staged, whole)
    done = list(outcome.applied)
    more, note = _recheck(edges, workflow, claims, config, counts, now)
    done += more
    reasons += [f"{a.describe()}: {a.function} because {a.reason}" for a in more]
    notes += [note] if note else []
    state, applied = plan.state, dict(record.applied)
    running: dict[str, FunctionReplicas] = {}
    if done:
        try:
            running = {f: edges.cluster.function(f) for f in {a.function for a in done}}
        except EdgeError as exc:
            notes.append(f"could not read the replicas back after applying: {exc}")
        applied.update({f: Applied(n, now) for f, n in counts.items() if n != whole[f].desired})
    claims = [replace(c, serving=serving_after(current[c.function], whole[c.function],
                                               running[c.function], c.replicas))
              if c.function in running else c for c in claims]
    if running:
        serving = {c.function: set(c.serving) for c in claims}
        after = {f: replace(r, desired=len(serving[f]),
                            replicas=tuple(x for x in r.replicas if x.id in serving[f]))
                 for f, r in running.items()}
        rebound = rebind(state, after, current)
        state = rebound.state
        notes += list(rebound.notes) + placement_differences(plan, after)
    final = _with_set(claims, counts)
    try:
        edges.claims.post(workflow, final)
    except EdgeError as exc:  # the claims posted before applying stand, with older replica ids
        notes.append(f"claims not posted again after applying: {exc}")
    status = "applied" if done else "unchanged"
    result = TickResult(status=status, reason=_summary(actions + more, "did"),
                        reasons=tuple(reasons), outcome=outcome.to_dict(), notes=tuple(notes),
                        **{**base, "targets": {**staged.targets, **{a.function: a.after
                                                                     for a in more}},
                           "claims": tuple(c.to_dict() for c in final)})
    new_record = ControllerRecord(workflow, state, gathered.samples, applied,
                                  [r.to_dict() for r in routes], _status(result),
                                  record.ticks + 1)
    try:
        edges.store.save(workflow, new_record.dumps())
    except EdgeError as exc:
        undone, errors = revert(edges.actuator, done)
        _post_quietly(edges, workflow, list(mine.values()))
        reason = (f"state not saved ({exc}); reverted {len(undone)} of {len(done)} "
                  "actions so the platform matches the memory" + (f" ({'; '.join(errors)})"
                                                                  if errors else ""))
        return _log(replace(result, status="failed", reason=reason,
                            outcome={**outcome.to_dict(), "reverted": [a.describe() for a in undone],
                                     "revert_errors": list(errors)}))
    return _log(result)


def _others(board: Mapping[str, tuple[Claim, ...]], workflow: str,
            functions: Sequence[str]) -> dict[str, tuple[Claim, ...]]:
    """The other workflows' live claims on each of ``functions``."""
    return {f: tuple(c for c in board.get(f, ()) if c.workflow != workflow) for f in functions}


def _outside(shares: Mapping[str, Share], mine: Mapping[str, Claim],
             config: ControllerConfig) -> dict[str, tuple[int, str]]:
    """Shared functions whose count no controller set: (share kept, reason)."""
    out = {}
    for f, share in shares.items():
        if not share.shared or f not in mine:
            continue
        claims = (*share.others, mine[f])
        comp = compose(f, claims, config.replica_cap)
        if not explained_by(share.whole.desired, comp, claims):
            out[f] = (mine[f].replicas,
                      f"{f}: {share.whole.desired} replicas desired, but the controllers last "
                      f"set {mine[f].set} and the claims compose {comp.count}: changed outside "
                      "them (a deploy resets replicas to com.openfaas.scale.min), set back; "
                      f"this workflow's share stays {mine[f].replicas}")
    return out


def _claims(workflow: str, plan: TickPlan, seen: Gathered, shares: Mapping[str, Share],
            period: float, now: float) -> list[Claim]:
    """This tick's claim on each function it scales that the platform runs: the plan's target
    where it decided one, else the share it holds (``set`` comes with :func:`_with_set`)."""
    targets = plan.targets
    return [Claim(workflow, m.unit.function, targets.get(m.unit.function, m.function.desired),
                  now, now + CLAIM_PERIODS * period, m.function.desired, m.unit.min_replicas,
                  m.unit.max_replicas, tuple(r.id for r in m.function.replicas),
                  m.consumed_rate.value)
            for m in seen.units if m.unit.function in shares]


def _compositions(claims: Sequence[Claim], others: Mapping[str, tuple[Claim, ...]],
                  config: ControllerConfig) -> dict[str, Composition]:
    note = " (OpenFaaS CE allows 1..5)" if config.platform == "openfaas-ce" else ""
    return {c.function: compose(c.function, (*others.get(c.function, ()), c), config.replica_cap,
                                cap_note=note) for c in claims}


def _shared_reasons(comps: Mapping[str, Composition]) -> list[str]:
    """The composition of every function shared with other workflows or clamped, one line each
    (an alone, unclamped function's count is its unit's target, said by the unit)."""
    return [c.reason for _, c in sorted(comps.items()) if len(c.shares) > 1 or c.clamped]


def _counts(staged: TickPlan, whole: Mapping[str, FunctionReplicas]) -> dict[str, int]:
    """Each function's count once ``staged`` is applied."""
    return {f: staged.targets.get(f, w.desired) for f, w in whole.items()}


def _with_set(claims: Sequence[Claim], counts: Mapping[str, int]) -> list[Claim]:
    return [replace(c, set=counts[c.function]) for c in claims]


def _recheck(edges: Edges, workflow: str, claims: Sequence[Claim], config: ControllerConfig,
             counts: dict[str, int], now: float) -> tuple[list[Scale], str]:
    """Read the others' claims again after applying and set any count that moved meanwhile
    (another workflow's tick posted between this one's read and its apply). Best effort: what
    fails here the next tick of either workflow sets; ``counts`` is updated in place."""
    try:
        others = _others(live_claims(edges.claims.read(), now), workflow,
                         [c.function for c in claims])
    except (EdgeError, StateError) as exc:
        return [], f"claims not read back after applying: {exc}"
    moves = [Scale(f, counts[f], comp.count, f"{comp.reason} (a claim changed while this tick "
                   "applied)") for f, comp in _compositions(claims, others, config).items()
             if comp.count != counts[f]]
    outcome = execute(edges.actuator, moves)
    counts.update({a.function: a.after for a in outcome.applied})
    if not outcome.ok:
        return list(outcome.applied), (f"re-composing after the apply failed at "
                                       f"'{outcome.failed.describe()}': {outcome.error}")
    return list(outcome.applied), ""


def _post_quietly(edges: Edges, workflow: str, claims: list[Claim]) -> None:
    """Put back the claims of before the tick (its apply was undone)."""
    try:
        edges.claims.post(workflow, claims)
    except EdgeError as exc:
        log.warning("%s: claims not put back after a failed apply: %s", workflow, exc)
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

