"""Gather: read Kafka, the EventBus, the platform and the gateway's metrics, and turn them into
measurements.

The unit the controller scales is a *function*: the operations of a workflow that run the same
function share its replicas, so they are sized together (their input rates and backlogs add up,
the strictest tolerance applies). :func:`units_of` groups them; :func:`gather` reads every edge
once, in a fixed order, and measures each unit against the samples of the previous tick:

* production rate: growth of the high watermarks of the unit's input topics;
* backlog: what the input groups have not committed plus what the EventBus holds for the
  inputs' subjects (the Kafka EventSource commits once the bus took an event, :mod:`.eventbus`);
* consumed rate: messages the unit finished (commits less the growth of what the bus holds);
* velocity per replica: records finished per second of invocation time (see :mod:`.measure`).
  The gateway counts a function's invocation time whatever workflow called it, so on a function
  other workflows also scale, the records they finished (their claims' rates, :mod:`.sharing`)
  are added to this workflow's: records per busy second is the function's, not the workflow's.

Offsets and the bus count messages; every number a unit is decided on is in *records*: each
input's messages times its topic's records per message, sampled from its newest messages (a
record batch carries up to 4000). The backlog is one figure: records the unit has not finished.

Any edge that does not answer raises :class:`~.errors.EdgeError` before anything is decided; a
function the platform does not run is measured as missing (its unit is then held, not fatal).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..scheduler import Node
from .config import InputSpec, ScalingSpec
from .errors import FunctionMissing
from .eventbus import NO_EVENTBUS_REASON, NoEventBus, input_held
from .measure import (Measured, OffsetSample, counter_delta, done_between, processing_rate,
                      rate_between, records_per_message)
from .measure import backlog as lag_of
from .ports import ClusterView, EventBusPending, FunctionMetrics, FunctionReplicas, OffsetReader

__all__ = ["Unit", "UnitMeasure", "Samples", "Gathered", "units_of", "gather"]


@dataclass(frozen=True)
class Unit:
    """One scaled function of the workflow and the operations it runs (pipeline order)."""

    function: str
    operations: tuple[str, ...]
    inputs: tuple[InputSpec, ...]
    min_replicas: int
    max_replicas: int
    dtt_s: float
    dtc: float


def units_of(spec: ScalingSpec, replica_cap: int | None = None) -> tuple[Unit, ...]:
    """Group the operations by function, in the order each function first appears.

    Bounds of a shared function: the largest minimum, the smallest maximum (never below that
    minimum), then the platform's cap; tolerances: the smallest DTT and DTC.
    """
    grouped: dict[str, list] = {}
    for op in spec.operations:
        grouped.setdefault(op.function, []).append(op)
    units = []
    for function, ops in grouped.items():
        low = max(o.min_replicas for o in ops)
        high = max(low, min(o.max_replicas for o in ops))
        if replica_cap is not None:
            high = min(high, replica_cap)
            low = min(low, high)
        inputs: dict[tuple[str, str], InputSpec] = {}
        for o in ops:
            for i in o.inputs:
                inputs.setdefault((i.topic, i.consumer_group), i)
        units.append(Unit(function, tuple(o.name for o in ops), tuple(inputs.values()), low,
                          max(high, 1), min(o.dtt_s for o in ops), min(o.dtc for o in ops)))
    return tuple(units)


def _group_key(item: InputSpec) -> str:
    return f"{item.consumer_group}|{item.topic}"


@dataclass(frozen=True)
class Samples:
    """What the next tick measures against: offsets, events held in the bus (None: no bus) and
    busy seconds, with their times."""

    topics: Mapping[str, OffsetSample] = field(default_factory=dict)
    groups: Mapping[str, OffsetSample] = field(default_factory=dict)  # "group|topic"
    busy_at: float | None = None
    busy: Mapping[str, float] = field(default_factory=dict)
    held: Mapping[str, int | None] = field(default_factory=dict)  # "group|topic", in messages

    def to_dict(self) -> dict:
        return {"topics": {t: s.to_dict() for t, s in sorted(self.topics.items())},
                "groups": {g: s.to_dict() for g, s in sorted(self.groups.items())},
                "busy_at": self.busy_at, "busy": dict(sorted(self.busy.items())),
                "held": dict(sorted(self.held.items()))}

    @classmethod
    def from_dict(cls, data: Mapping) -> Samples:
        return cls({t: OffsetSample.from_dict(s) for t, s in data.get("topics", {}).items()},
                   {g: OffsetSample.from_dict(s) for g, s in data.get("groups", {}).items()},
                   None if data.get("busy_at") is None else float(data["busy_at"]),
                   {f: float(s) for f, s in data.get("busy", {}).items()},
                   {g: None if h is None else int(h) for g, h in data.get("held", {}).items()})


@dataclass(frozen=True)
class UnitMeasure:
    """One unit, measured: rates in records/s, backlog in records, velocity per replica.

    ``backlog`` = (``kafka_lag`` + ``bus_held``) messages, each input's at its topic's records
    per message; ``bus_held`` is None when there is no EventBus (``bus_note`` says so).
    """

    unit: Unit
    function: FunctionReplicas
    production_rate: Measured
    backlog: int
    consumed_rate: Measured
    velocity: Measured
    missing: str = ""  # why the platform has no such function ("" when it has)
    kafka_lag: int = 0  # messages the inputs' groups have not committed
    bus_held: int | None = None  # messages the bus holds for the inputs' Sensors
    records_per_message: float = 1.0  # backlog / (kafka_lag + bus_held)
    bus_note: str = ""

    def to_dict(self) -> dict:
        def num(m: Measured) -> float | None:
            return None if m.value is None else round(m.value, 3)

        return {"function": self.unit.function, "operations": list(self.unit.operations),
                "desired": self.function.desired,
                "replicas": [[r.id, r.node, r.ready] for r in self.function.replicas],
                "production_rate": num(self.production_rate), "backlog": self.backlog,
                "consumed_rate": num(self.consumed_rate), "velocity": num(self.velocity),
                "kafka_lag": self.kafka_lag, "bus_held": self.bus_held,
                "records_per_message": round(self.records_per_message, 3),
                **({"bus": self.bus_note} if self.bus_note else {}),
                "unmeasured": {k: m.reason for k, m in (("production_rate", self.production_rate),
                                                        ("velocity", self.velocity))
                               if m.value is None}}


@dataclass(frozen=True)
class Gathered:
    at: float
    nodes: tuple[Node, ...]
    units: tuple[UnitMeasure, ...]
    samples: Samples


def _sum_rates(rates: list[Measured]) -> Measured:
    missing = [m for m in rates if m.value is None]
    if missing:
        return Measured(None, missing[0].reason)
    return Measured(sum(m.value for m in rates))  # type: ignore[misc]


def _in_records(rate: Measured, per_message: float) -> Measured:
    return rate if rate.value is None else Measured(rate.value * per_message)


def gather(spec: ScalingSpec, units: tuple[Unit, ...], previous: Samples, *,
           offsets: OffsetReader, cluster: ClusterView, metrics: FunctionMetrics,
           now: float, bus: EventBusPending = NoEventBus(),
           others_rates: Mapping[str, float | None] | None = None) -> Gathered:
    """Read every edge once (Kafka, the EventBus, the platform, the metrics), measure each unit.

    ``others_rates``: per function other workflows also scale, the records/s they finish on it
    (None: not known, the velocity is then not measured this tick).
    """
    others_rates = others_rates or {}
    ends = offsets.end_offsets(spec.topics)
    per_message = {t: records_per_message(o.sampled_messages, o.sampled_records)
                   for t, o in ends.items()}
    topic_samples = {t: OffsetSample(now, dict(o.high)) for t, o in ends.items()}
    group_samples: dict[str, OffsetSample] = {}
    lags: dict[str, int] = {}
    for unit in units:
        for item in unit.inputs:
            end = ends[item.topic]
            committed = offsets.committed(item.consumer_group, item.topic, sorted(end.high))
            lags[_group_key(item)] = lag_of(committed, end.high, end.low)
            # Where the group stands, as a counter: an uncommitted partition starts at its low mark.
            group_samples[_group_key(item)] = OffsetSample(now, {
                p: max(committed.get(p) or 0, end.low.get(p, 0)) for p in end.high})
    # After the commits: an event committed in between is then counted twice (held and not
    # lagging), never missed.
    by_subject = bus.held()
    held: dict[str, int | None] = {
        _group_key(i): None if by_subject is None else input_held(by_subject, spec.workflow, i.topic)
        for u in units for i in u.inputs}
    functions, missing = {}, {}
    for u in units:
        try:
            functions[u.function] = cluster.function(u.function)
        except FunctionMissing as exc:
            functions[u.function] = FunctionReplicas(u.function, 0, ())
            missing[u.function] = exc.detail
    nodes = tuple(cluster.nodes(frozenset(functions)))
    busy = metrics.busy_seconds()
    measured = []
    for unit in units:
        produced = _sum_rates([_in_records(rate_between(previous.topics.get(i.topic),
                                                        topic_samples[i.topic]),
                                           per_message[i.topic]) for i in unit.inputs])
        done = {_group_key(i): done_between(previous.groups.get(_group_key(i)),
                                            group_samples[_group_key(i)],
                                            previous.held.get(_group_key(i)),
                                            held[_group_key(i)]) for i in unit.inputs}
        consumed = _sum_rates([_in_records(done[_group_key(i)], per_message[i.topic])
                               for i in unit.inputs])
        records = None  # finished in the interval (the previous tick sampled groups and busy together)
        unsplit = unit.function in others_rates and others_rates[unit.function] is None
        if consumed.value is not None and previous.busy_at is not None:
            elapsed = now - previous.busy_at
            # The busy time is every workflow's on a shared function: so are the records.
            records = round((consumed.value + (others_rates.get(unit.function) or 0.0)) * elapsed)
        ready = sum(r.ready for r in functions[unit.function].replicas)
        available = (now - previous.busy_at) * ready if previous.busy_at is not None else None
        velocity = (Measured(None, "other workflows' records on the function not measured yet")
                    if unsplit else
                    processing_rate(records, counter_delta(previous.busy.get(unit.function),
                                                           busy.get(unit.function, 0.0)),
                                    available or None))
        kafka_lag = sum(lags[_group_key(i)] for i in unit.inputs)
        in_bus = [held[_group_key(i)] for i in unit.inputs]
        bus_held = None if any(h is None for h in in_bus) else sum(in_bus)  # type: ignore[misc]
        backlog = round(sum((lags[_group_key(i)] + (held[_group_key(i)] or 0))
                            * per_message[i.topic] for i in unit.inputs))
        waiting = kafka_lag + (bus_held or 0)
        ratio = backlog / waiting if waiting else per_message[unit.inputs[0].topic]
        measured.append(UnitMeasure(unit, functions[unit.function], produced, backlog, consumed,
                                    velocity, missing.get(unit.function, ""), kafka_lag,
                                    bus_held, ratio,
                                    NO_EVENTBUS_REASON if bus_held is None else ""))
    samples = Samples(topic_samples, group_samples, now,
                      {u.function: busy.get(u.function, 0.0) for u in units}, held)
    return Gathered(now, nodes, tuple(measured), samples)
