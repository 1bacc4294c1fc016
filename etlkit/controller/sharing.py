"""Functions scaled by more than one workflow: one replica count per function, composed from
every workflow's claim.

Why: each workflow's autoscaler sizes the functions its steps and sink run, but the platform keeps
one replica count per function (faas-netes: the Deployment named after the function; CE's gateway
the same through ``/system/scale-function``), so two workflows setting it overwrite each other
every tick. Per-workflow instances of a function are no way out on OpenFaaS CE (15 functions at
most, stack.yml has 13). The rule, pure here (the board that keeps the claims is :mod:`.claims`):

* Each workflow's tick decides its *share* of each function it scales: what its own operations
  need. Its scheduler sees the replicas serving that share (:func:`share_of`); the function's
  other replicas serve other workflows and weigh on their nodes as background load.
* The tick posts its shares as :class:`Claim` s with their time and an expiry
  (:data:`CLAIM_PERIODS` of its own tick periods): a workflow that stops ticking releases its
  replicas once its claims expire.
* The function's count is the sum of the live claims, each at least its workflow's minimum, kept
  within the function's bounds (the largest ``max_replicas`` a claimant allows, then the
  platform's cap) with the reason said when it is clamped (:func:`compose`). So no tick sets a
  count below what the other workflows' claims need, unless a bound forbids it, and says so.
* A count that differs from the composition is "changed outside the controllers" (a deploy
  resetting it to ``com.openfaas.scale.min``) only when it is also not the count a live claimant
  last set (:func:`explained_by`): another workflow changing its claim and applying the new sum is
  not an outside change.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..scheduler import StateError
from .gather import Gathered
from .planning import UnitPlan, with_background
from .ports import FunctionReplicas

__all__ = ["CLAIM_PERIODS", "Claim", "Share", "Composition", "dumps_claims", "loads_claims",
           "live_claims", "share_of", "narrowed", "compose", "explained_by", "platform_units",
           "serving_after", "others_rate"]

CLAIM_PERIODS = 3  # a claim outlives its tick by this many periods: a late tick is not a stop


@dataclass(frozen=True)
class Claim:
    """One workflow's share of one function, as its tick at ``at`` decided it.

    ``set`` is the function's count that tick set (or found right); ``serving`` the replicas it
    counted as its share; ``rate`` the records/s its operations finished on the function (other
    workflows' ticks use it to tell their part of the function's busy time, see
    :func:`others_rate`); ``min_replicas``/``max_replicas`` its bounds for the function.
    """

    workflow: str
    function: str
    replicas: int
    at: float
    until: float
    set: int
    min_replicas: int
    max_replicas: int
    serving: tuple[str, ...] = ()
    rate: float | None = None

    def live(self, now: float) -> bool:
        return self.until > now

    def to_dict(self) -> dict:
        return {"workflow": self.workflow, "function": self.function, "replicas": self.replicas,
                "at": self.at, "until": self.until, "set": self.set,
                "min_replicas": self.min_replicas, "max_replicas": self.max_replicas,
                "serving": list(self.serving), "rate": self.rate}


def dumps_claims(claims: Sequence[Claim]) -> bytes:
    """A workflow's claims as one JSON document (the board keeps one per workflow)."""
    return json.dumps([c.to_dict() for c in sorted(claims, key=lambda c: c.function)],
                      separators=(",", ":"), sort_keys=True).encode()


def loads_claims(raw: bytes, where: str = "claims") -> tuple[Claim, ...]:
    """Read back :func:`dumps_claims`; a StateError names the entry that is malformed."""
    try:
        docs = json.loads(raw)
    except ValueError as exc:
        raise StateError(where, f"is not JSON ({exc})") from exc
    if not isinstance(docs, list):
        raise StateError(where, "must be a JSON array of claims")
    out = []
    for k, d in enumerate(docs):
        try:
            out.append(Claim(str(d["workflow"]), str(d["function"]), int(d["replicas"]),
                             float(d["at"]), float(d["until"]), int(d["set"]),
                             int(d["min_replicas"]), int(d["max_replicas"]),
                             tuple(str(i) for i in d.get("serving", ())),
                             None if d.get("rate") is None else float(d["rate"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"{where}[{k}]", f"is malformed ({exc!r})") from exc
    return tuple(out)


def live_claims(claims: Iterable[Claim], now: float) -> dict[str, tuple[Claim, ...]]:
    """function -> its unexpired claims, one per workflow (the newest), sorted by workflow."""
    newest: dict[tuple[str, str], Claim] = {}
    for c in claims:
        key = (c.function, c.workflow)
        if c.live(now) and (key not in newest or c.at >= newest[key].at):
            newest[key] = c
    out: dict[str, list[Claim]] = {}
    for (function, _), c in sorted(newest.items()):
        out.setdefault(function, []).append(c)
    return {f: tuple(cs) for f, cs in out.items()}


@dataclass(frozen=True)
class Share:
    """A workflow's part of a function before this tick decides.

    ``view`` is the function as the workflow's scheduler sees it: ``desired`` its share, and the
    replicas serving it; ``others_on`` the replicas (per node) serving the other workflows.
    """

    whole: FunctionReplicas
    view: FunctionReplicas
    others: tuple[Claim, ...]
    others_on: Mapping[str, int]

    @property
    def shared(self) -> bool:
        return bool(self.others)


def share_of(whole: FunctionReplicas, mine: Claim | None, others: Sequence[Claim],
             floor: int = 0) -> Share:
    """The workflow's share of ``whole`` and the replicas serving it.

    Alone on the function, the workflow's share is all of it. Beside others, its share is its own
    last claim (a first claim: what the others' claims leave of the count, at least ``floor``,
    its minimum), served by the
    replicas it counted last time that are still running, then by those no other claim counts,
    then by the rest, each group in id order (deterministic).

    >>> from etlkit.controller.ports import Replica
    >>> f = FunctionReplicas("filter", 3, (Replica("f-1", "a"), Replica("f-2", "b"),
    ...                                    Replica("f-3", "a")))
    >>> other = Claim("host-metrics", "filter", 1, 0, 45, 3, 1, 5, ("f-1",))
    >>> s = share_of(f, None, [other])
    >>> s.view.desired, [r.id for r in s.view.replicas], dict(s.others_on)
    (2, ['f-2', 'f-3'], {'a': 1})
    """
    if not others:
        return Share(whole, whole, (), {})
    claimed = sum(c.replicas for c in others)
    share = mine.replicas if mine is not None else max(floor, whole.desired - claimed)
    own = set(mine.serving) if mine is not None else set()
    theirs = {i for c in others for i in c.serving}
    ordered = sorted(whole.replicas, key=lambda r: (r.id not in own, r.id in theirs, r.id))
    serving, rest = ordered[:share], ordered[share:]
    others_on: dict[str, int] = {}
    for r in rest:
        others_on[r.node] = others_on.get(r.node, 0) + 1
    placement = None if whole.placement is None else dict(whole.placement)
    view = FunctionReplicas(whole.name, share, tuple(sorted(serving, key=lambda r: r.id)),
                            whole.weight, placement)
    return Share(whole, view, tuple(others), dict(sorted(others_on.items())))


def narrowed(gathered: Gathered, shares: Mapping[str, Share]) -> Gathered:
    """``gathered`` as the workflow's scheduler sees it: each shared function narrowed to the
    workflow's share, the replicas serving the others added to their nodes' background load (so
    placements count them, and never double-book a node)."""
    extra: dict[str, float] = {}
    for s in shares.values():
        for node, count in s.others_on.items():
            extra[node] = extra.get(node, 0.0) + count * s.whole.weight
    units = tuple(replace(m, function=shares[m.unit.function].view)
                  if m.unit.function in shares else m for m in gathered.units)
    return replace(gathered, units=units, nodes=with_background(gathered.nodes, extra))


@dataclass(frozen=True)
class Composition:
    """The function's count from its claims: ``count``, each workflow's counted share, why."""

    function: str
    count: int
    shares: tuple[tuple[str, int], ...]
    reason: str
    clamped: bool = False


def compose(function: str, claims: Sequence[Claim], cap: int | None, *,
            cap_note: str = "") -> Composition:
    """count = the sum of the live ``claims`` (each at least its workflow's minimum, except a
    share of zero: an idle workflow on a platform that scales to zero), within the function's
    bounds: the largest minimum and the largest ``max_replicas`` of the claimants, then ``cap``.

    >>> claims = [Claim("orders", "filter", 2, 0, 45, 2, 1, 5), Claim("hm", "filter", 7, 0, 45,
    ...                                                               7, 1, 8)]
    >>> c = compose("filter", claims, 5, cap_note=" (OpenFaaS CE allows 1..5)")
    >>> c.count, c.clamped
    (5, True)
    >>> c.reason
    'filter: 9 replicas claimed (hm 7 + orders 2), above the platform\\'s most 5 (PLATFORM_MAX_REPLICAS) (OpenFaaS CE allows 1..5): set to 5'
    """
    if not claims:
        raise ValueError(f"{function}: no claim to compose")
    shares = tuple(sorted((c.workflow, c.replicas if c.replicas == 0 else
                           max(c.replicas, c.min_replicas)) for c in claims))
    total = sum(n for _, n in shares)
    low = max(c.min_replicas for c in claims)
    high = max(max(c.max_replicas for c in claims), low, 1)
    parts = " + ".join(f"{w} {n}" for w, n in shares)
    said = f"{function}: {total} replicas claimed ({parts})"
    if cap is not None and total > cap and cap <= high:
        return Composition(function, cap, shares, f"{said}, above the platform's most {cap} "
                           f"(PLATFORM_MAX_REPLICAS){cap_note}: set to {cap}", True)
    if total > high:
        return Composition(function, high, shares, f"{said}, above the function's "
                           f"max_replicas {high} (the largest a claimant allows): set to {high}",
                           True)
    if 0 < total < low:
        return Composition(function, low, shares, f"{said}, below the function's "
                           f"min_replicas {low}: set to {low}", True)
    return Composition(function, total, shares, f"{said}: set to {total}")


def explained_by(desired: int, composition: Composition, claims: Iterable[Claim]) -> bool:
    """Whether a function's count is one the controllers set: the composition of the claims, or
    the count a live claimant's tick last set (it may have composed before another claim
    changed). Anything else was changed outside them."""
    return desired == composition.count or any(desired == c.set for c in claims)


def platform_units(units: Sequence[UnitPlan], compositions: Mapping[str, Composition],
                   shares: Mapping[str, Share]) -> list[UnitPlan]:
    """The plan as the platform must run it: each function at its composed count, on the nodes
    of this workflow's plan plus those of the replicas serving the others. A function no unit
    changes is listed when its count is not the composition (another workflow's claim grew,
    shrank or expired); a function alone keeps its unit's reason, a shared one adds the
    composition's."""
    by_function = {u.function: u for u in units}
    out = []
    for function, comp in compositions.items():
        share, unit = shares[function], by_function.get(function)
        if unit is None and comp.count == share.whole.desired:
            continue
        nodes: dict[str, int] = dict(unit.nodes_after) if unit is not None else {}
        if unit is None:
            for r in share.view.replicas:
                nodes[r.node] = nodes.get(r.node, 0) + 1
        for node, count in share.others_on.items():
            nodes[node] = nodes.get(node, 0) + count
        if unit is not None and len(comp.shares) == 1:
            reason = unit.reason
        else:
            reason = f"{unit.reason}; {comp.reason}" if unit is not None else comp.reason
        out.append(UnitPlan(function, share.whole.desired, comp.count,
                            unit.action if unit is not None else "compose", reason,
                            dict(sorted(nodes.items()))))
    return out


def serving_after(view: FunctionReplicas, before: FunctionReplicas, after: FunctionReplicas,
                  share: int) -> tuple[str, ...]:
    """The replicas serving the workflow's share once the platform applied the new count: those
    that served it before and still run, then the new ones (started by this apply), then any
    other, up to ``share`` (id order within each group)."""
    old = {r.id for r in before.replicas}
    kept = {r.id for r in view.replicas}
    ordered = sorted(after.replicas, key=lambda r: (r.id not in kept, r.id in old, r.id))
    return tuple(sorted(r.id for r in ordered[:share]))


def others_rate(others: Sequence[Claim]) -> float | None:
    """Records/s the other workflows' operations finish on a function, from their claims (None
    when one of them measured nothing: the function's busy time cannot be split then)."""
    rates = [c.rate for c in others]
    return None if any(r is None for r in rates) else sum(rates)  # type: ignore[misc]

