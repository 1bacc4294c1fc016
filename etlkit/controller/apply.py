"""Apply: turn a tick's plan into platform actions, run them all or none, and bind the result.

* :func:`actions_of` (pure) lists what must change: a :class:`Scale` where the platform's desired
  count differs from the target, a :class:`Place` where the platform keeps a placement (node
  affinity on Kubernetes) and the set of planned nodes differs from it (with none written yet,
  only once a node is to get its first replica: writing one rolls the pods). Nothing that already
  holds is listed, so applying the same plan twice changes nothing. Scale-ins go first (they
  free room), and a function's placement before its scale.
* :func:`execute` runs them in order through an :class:`~.ports.Actuator`; when one fails, the
  ones before it are reverted (newest first) and the result says what failed and how the
  revert went. :func:`revert` undoes a whole run (when the state cannot be saved afterwards).
* :func:`rebind` (pure) ties the scheduler's memory to what the platform really runs: the
  scheduler names the replicas it adds (``map-3``) and the platform names them its own way
  (``map-17``, a pod name), a platform scaling in picks its own victim, and a crashed pod comes
  back under a new name. Replicas of one function on one node are interchangeable, so each
  remembered replica that is not running is bound to an unclaimed running one on the same node
  (new ones first), or, when the platform put it elsewhere, on another node (a placement
  difference, reported); one with no running replica left for it is kept as it is (its pod may
  still be pending). It runs after an apply and again before each decision.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..scheduler import AddedService, ControllerState
from .errors import EdgeError
from .planning import TickPlan
from .ports import Actuator, FunctionReplicas

__all__ = ["Scale", "Place", "Outcome", "actions_of", "execute", "revert", "rebind",
           "placement_differences"]


@dataclass(frozen=True)
class Scale:
    function: str
    before: int
    after: int
    reason: str

    def describe(self) -> str:
        return f"scale {self.function} {self.before} -> {self.after}"


@dataclass(frozen=True)
class Place:
    function: str
    before: Mapping[str, int] | None
    after: Mapping[str, int]
    reason: str

    def describe(self) -> str:
        nodes = ", ".join(f"{n}: {c}" for n, c in sorted(self.after.items())) or "none"
        return f"place {self.function} on {nodes}"


Action = Scale | Place


@dataclass(frozen=True)
class Outcome:
    """What :func:`execute` did: the actions applied, and the failure if there was one."""

    applied: tuple[Action, ...] = ()
    failed: Action | None = None
    error: str = ""
    reverted: tuple[Action, ...] = ()
    revert_errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failed is None

    def to_dict(self) -> dict:
        return {"applied": [a.describe() for a in self.applied],
                "failed": self.failed.describe() if self.failed else None, "error": self.error,
                "reverted": [a.describe() for a in self.reverted],
                "revert_errors": list(self.revert_errors)}


def actions_of(plan: TickPlan, current: Mapping[str, FunctionReplicas]) -> list[Action]:
    """The actions that bring the platform to ``plan`` (none for what already holds)."""
    scale_in, rest = [], []
    for unit in plan.units:
        now = current[unit.function]
        if now.placement is not None and unit.target > 0:
            wanted = {n: c for n, c in unit.nodes_after.items() if c > 0}
            placed = {n for n, c in now.placement.items() if c > 0}
            # Writing a placement rolls the pods: only when the set of nodes changes, and with no
            # placement written yet, only when a node is to get its first replica.
            new_node = bool(set(wanted) - {r.node for r in now.replicas})
            if set(wanted) != placed and (placed or new_node):
                rest.append(Place(unit.function, dict(now.placement), wanted, unit.reason))
        if unit.target != now.desired:
            action = Scale(unit.function, now.desired, unit.target, unit.reason)
            (scale_in if unit.target < now.desired else rest).append(action)
    return scale_in + rest


def _do(actuator: Actuator, action: Action) -> None:
    if isinstance(action, Scale):
        actuator.scale(action.function, action.after)
    else:
        actuator.place(action.function, action.after)


def _undo(actuator: Actuator, action: Action) -> None:
    if isinstance(action, Scale):
        actuator.scale(action.function, action.before)
    elif action.before is not None:
        actuator.place(action.function, action.before)


def revert(actuator: Actuator, applied: Sequence[Action]) -> tuple[tuple[Action, ...], tuple[str, ...]]:
    """Undo ``applied``, newest first; what was undone, and what could not be."""
    done, errors = [], []
    for action in reversed(applied):
        try:
            _undo(actuator, action)
            done.append(action)
        except EdgeError as exc:
            errors.append(f"undo {action.describe()}: {exc}")
    return tuple(done), tuple(errors)


def execute(actuator: Actuator, actions: Sequence[Action]) -> Outcome:
    """Apply every action, or none: on the first failure the earlier ones are reverted."""
    applied: list[Action] = []
    for action in actions:
        try:
            _do(actuator, action)
        except EdgeError as exc:
            reverted, errors = revert(actuator, applied)
            return Outcome(tuple(applied), action, str(exc), reverted, errors)
        applied.append(action)
    return Outcome(tuple(applied))


@dataclass(frozen=True)
class Rebound:
    state: ControllerState
    notes: tuple[str, ...] = field(default_factory=tuple)


def rebind(state: ControllerState, running: Mapping[str, FunctionReplicas],
           before: Mapping[str, FunctionReplicas]) -> Rebound:
    """Bind each function's remembered replicas to running ones (see the module docstring)."""
    operations = dict(state.operations)
    notes: list[str] = []
    for function, now in running.items():
        op = operations.get(function)
        if op is None or not op.added:
            continue
        old_ids = {r.id for r in before[function].replicas} if function in before else set()
        ids = {r.id for r in now.replicas}
        claimed = {a.service_id for a in op.added if a.service_id in ids}
        # New replicas first, then older ones; within each, by id (deterministic).
        free = sorted((r for r in now.replicas if r.id not in claimed),
                      key=lambda r: (r.id in old_ids, r.id))
        bound: list[AddedService] = []
        for added in op.added:
            if added.service_id in ids:
                bound.append(added)
                continue
            pick = next((r for r in free if r.node == added.node), None)
            if pick is None and free:
                pick = free[0]
                notes.append(f"{function}: a replica planned on {added.node} runs on {pick.node}")
            if pick is None:
                # Not started yet (a pod still pending): kept, bound once it runs. A replica that
                # is really gone is dropped by the scheduler when the function has settled.
                notes.append(f"{function}: replica {added.service_id} planned on {added.node} "
                             "is not running yet")
                bound.append(added)
                continue
            free.remove(pick)
            bound.append(AddedService(pick.id, pick.node, added.added_at))
        operations[function] = replace(op, added=tuple(bound))
    return Rebound(replace(state, operations=operations), tuple(notes))


def placement_differences(plan: TickPlan, running: Mapping[str, FunctionReplicas]) -> list[str]:
    """Functions whose replicas per node differ from the plan's, one line each."""
    lines = []
    for unit in plan.units:
        now = running.get(unit.function)
        if now is None:
            continue
        actual: dict[str, int] = {}
        for r in now.replicas:
            actual[r.node] = actual.get(r.node, 0) + 1
        planned = {n: c for n, c in unit.nodes_after.items() if c}
        if len(now.replicas) == unit.target and actual != planned:
            lines.append(f"{unit.function}: planned {planned}, running {dict(sorted(actual.items()))}")
    return lines
