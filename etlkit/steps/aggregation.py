"""The ``aggregate`` step: count/sum/min/max/avg per group over tumbling event-time windows.

Params::

    {"window": "1m",                    # window size: a duration with its unit (30s, 1m, 1h)
     "group_by": ["country"],           # group fields (dotted paths; default: one global group)
     "aggregations": {"orders": {"count": "*"},       # name: {op: field}; count "*" counts records
                      "revenue": {"sum": "amount"}},  # ops: count sum min max avg
     "allowed_lateness": "5s",          # how far the watermark trails each partition's newest
                                        # event (default 0): disorder within a partition
     "idle_timeout": "5m",              # a partition with no input this long (processing time)
                                        # stops holding the watermark back (default 5m)
     "time_field": "ordered_at",        # default: the etl-event-time header, then the Kafka timestamp
     "max_open_windows": 100000}        # state bound; a record that would open more is dead-lettered

Each result is a record ``{"window_id", "window_start", "window_end", <group fields>,
<aggregation names>}`` whose Kafka key is ``window_id`` (``"<group values>/<window start>"``, the
warehouse upsert key), stamped with event time ``window_end - 1``. See :mod:`.windows` for the
time rules: the watermark is the minimum over the input topic's partitions, and the last windows
close when every partition's input has ended (a batch with ``"end": true``).

Why ``idle_timeout`` defaults to 5 minutes: a partition counts as idle only after it delivered
nothing for that long, and it must not be counted idle while it still has a backlog that the
consumer has not reached (Tansu hands out one partition's records long before the next one's):
then the watermark would pass that backlog and its records would be late, the very loss the
per-partition watermark prevents. So it should exceed the time the consumer spends on one
partition's backlog before it reaches the next; too long only delays the windows of an empty
partition's topic, never loses a record. A bounded input does not depend on it: its end marker
closes the last windows.

Counters: ``out`` counts the records absorbed into window state, ``emitted`` the window results
produced; ``filtered`` is always 0; late or malformed records are dead letters. An input batch
already applied (its identity is in the state) changes nothing and is answered ``in`` 0,
``duplicate`` 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

from .accumulators import OPS
from .config import ConfigError, ConfigReader, field_path
from .fieldpaths import Path
from .outcome import DeadLetter, StepCounters, StepOutcome, each_record, outcome_of
from .record import Record
from .windows import RESULT_FIELDS, Emitted, WindowFailure, WindowState

DEFAULT_MAX_OPEN_WINDOWS = 100_000
DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000  # why this long: see the module docstring
ALL_RECORDS = "*"


@dataclass(frozen=True)
class Aggregation:
    name: str
    op: str
    field: Path | None  # None only for count "*": count records, not values


@dataclass(frozen=True)
class AggregateConfig:
    window_ms: int
    aggregations: tuple[Aggregation, ...]
    group_by: tuple[Path, ...] = ()
    allowed_lateness_ms: int = 0
    time_field: Path | None = None
    max_open_windows: int = DEFAULT_MAX_OPEN_WINDOWS
    idle_timeout_ms: int = DEFAULT_IDLE_TIMEOUT_MS

    @classmethod
    def from_dict(cls, params: Mapping[str, Any], where: str = "params") -> "AggregateConfig":
        """Parse ``params``; :class:`ConfigError` names the field and rule."""
        reader = ConfigReader(params, where)
        window_ms = reader.duration_ms("window", positive=True)
        group_names = reader.text_list("group_by", (), non_empty=False)
        group_by = tuple(field_path(name, f"{reader.at('group_by')}[{i}]")
                         for i, name in enumerate(group_names))
        taken = set(RESULT_FIELDS) | {path[0] for path in group_by}
        aggregations = _aggregations(reader.raw("aggregations", None), reader.at("aggregations"), taken)
        time_text = reader.text("time_field", None)
        config = cls(
            window_ms=window_ms, aggregations=aggregations, group_by=group_by,
            allowed_lateness_ms=reader.duration_ms("allowed_lateness", positive=False, default=0),
            time_field=None if time_text is None else field_path(time_text, reader.at("time_field")),
            max_open_windows=reader.integer("max_open_windows", 1, DEFAULT_MAX_OPEN_WINDOWS),
            idle_timeout_ms=reader.duration_ms("idle_timeout", positive=True,
                                               default=DEFAULT_IDLE_TIMEOUT_MS))
        reader.finish()
        return config

    def fingerprint(self) -> dict[str, Any]:
        """What persisted window state depends on; state from another fingerprint is refused."""
        return {"window_ms": self.window_ms,
                "group_by": [".".join(path) for path in self.group_by],
                "aggregations": [[a.name, a.op, ALL_RECORDS if a.field is None else ".".join(a.field)]
                                 for a in self.aggregations]}


def _aggregations(items: Any, where: str, taken: set[str]) -> tuple[Aggregation, ...]:
    rule = "must map result names to {op: field}, e.g. {\"revenue\": {\"sum\": \"amount\"}}"
    if not isinstance(items, Mapping) or not items:
        raise ConfigError(where, rule)
    parsed = []
    for name, spec in items.items():
        at = f"{where}.{name}"
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(where, "result names must be non-empty strings")
        if name in taken:
            raise ConfigError(at, f"{name!r} is already an output field")
        taken.add(name)
        if not isinstance(spec, Mapping) or len(spec) != 1:
            raise ConfigError(at, "must be one {op: field}, op one of " + ", ".join(OPS))
        (op, field_text), = spec.items()
        if op not in OPS:
            raise ConfigError(f"{at}.{op}", "is not an op; must be one of " + ", ".join(OPS))
        if field_text == ALL_RECORDS:
            if op != "count":
                raise ConfigError(f"{at}.{op}", f"'{ALL_RECORDS}' (all records) only works with count")
            parsed.append(Aggregation(name, op, None))
        else:
            parsed.append(Aggregation(name, op, field_path(field_text, f"{at}.{op}")))
    return tuple(parsed)


def run_aggregate(config: AggregateConfig, records: Sequence[Record], state: Any, *, step: str,
                  now_ms: int, flush: bool = False, identity: str | None = None,
                  partition: int | None = None, partitions: int | None = None,
                  end: bool = False, lane: bool = False) -> StepOutcome:
    """Fold a batch into the windows of ``state`` (a dict from a previous outcome, or None).

    The outcome's ``state`` is the new state to persist (a :meth:`WindowState.to_dict` dict);
    the input ``state`` is not modified.

    The batch is the input of one invocation: ``identity`` (applied at most once: a batch already
    in the state emits nothing), from ``partition`` (default: its first record's) of a topic of
    ``partitions`` partitions (None: the partitions seen count), at processing time ``now_ms``;
    ``end``: it was that partition's last batch. ``flush=True`` emits every open window after
    the batch, whatever the partitions' progress.

    ``lane=True``: ``state`` holds every partition's progress but only ``partition``'s partial
    windows (what a state store hands one replica), and nothing is closed: the outcome's state
    says in ``"due"`` what :func:`settle_aggregate` should close with every lane in hand
    (None: nothing; ``"all"``: the run is over). Such a lane raises
    :class:`~.windows.CloseFirst` when the run was over before its batch.
    """
    windows = WindowState.from_dict(state, config, lane=lane)
    if partition is None and records:
        partition = records[0].partition
    if identity is not None and windows.applied(identity, partition):
        return StepOutcome((), (), StepCounters(0, 0, 0, 0, 0, duplicate=1), state)
    emitted = windows.begin(now_ms, partitions, partition)
    dead = each_record(records, step, now_ms, windows.absorb)
    if end:
        windows.end(partition)
    if identity is not None:
        windows.remember(identity, partition)
    failed = failed_windows(emitted, step, now_ms)
    if lane:
        windows.mark_lane(partition)
        data = windows.to_dict()
        due = windows.due
        data["due"] = "all" if due == math.inf else due
    else:
        closed = windows.settle() + (windows.flush() if flush else [])
        failed += failed_windows(closed, step, now_ms)
        emitted += closed
        data = windows.to_dict()
    outcome = outcome_of(len(records), [r for r in emitted if type(r) is Record], dead, 0,
                         through=len(records) - len(dead), state=data)
    # A failed window is a dead letter beside the input's, not counted with them: the counters
    # balance the input records (in = out + filtered + dead_lettered).
    return replace(outcome, dead_letters=outcome.dead_letters + tuple(failed)) if failed else outcome


def failed_windows(closed: Sequence[Emitted], step: str, now_ms: int) -> list[DeadLetter]:
    """The dead letters of the windows in ``closed`` whose result could not be written, each
    naming its window (key: the window id) and why."""
    return [DeadLetter(step, item.reason, item.value, None, item.window_id, now_ms)
            for item in closed if type(item) is WindowFailure]


def settle_aggregate(config: AggregateConfig, state: Any, *, now_ms: int, step: str = "aggregate",
                     partition: int | None = None, partitions: int | None = None,
                     flush: bool = False) -> tuple[list[Record | DeadLetter], dict[str, Any]]:
    """Close what every lane's progress allows (``state`` holds every partition's partials):
    (the window results, in window start then key order, a window whose result cannot be
    written a :class:`DeadLetter` in its place; the state left)."""
    windows = WindowState.from_dict(state, config)
    emitted = windows.settle(now_ms, partitions, partition)
    if flush:
        emitted += windows.flush()
    failed = iter(failed_windows(emitted, step, now_ms))
    return [next(failed) if type(item) is WindowFailure else item for item in emitted], \
        windows.to_dict()
