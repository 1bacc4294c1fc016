"""The ``aggregate`` step: count/sum/min/max/avg per key over tumbling event-time windows.

Params::

    {"window": 60,                      # window size, seconds (ms precision)
     "key_fields": ["country"],         # group by (dotted paths; default: one global group)
     "aggregations": [{"name": "orders", "op": "count"},
                      {"name": "revenue", "op": "sum", "field": "amount"}],
     "allowed_lateness": 5,             # seconds the watermark trails the newest event (default 0)
     "event_time_field": "ts",          # default: the etl-event-time header, then the Kafka timestamp
     "max_open_windows": 100000}        # state bound; a record that would open more is dead-lettered

Each result is a record ``{"window_start", "window_end", <key fields>, <aggregation names>}``
keyed by ``[window_start, *key values]`` as JSON text (the warehouse upsert key), stamped with
event time ``window_end - 1``. See :mod:`.windows` for the time rules.

Counters: ``out`` counts the records absorbed into window state, ``emitted`` the window results
produced; ``filtered`` is always 0; late or malformed records are dead letters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .accumulators import OPS
from .config import ConfigError, ConfigReader, field_path
from .fieldpaths import Path
from .outcome import StepOutcome, each_record, outcome_of
from .record import Record
from .windows import WINDOW_END_FIELD, WINDOW_START_FIELD, WindowState

DEFAULT_MAX_OPEN_WINDOWS = 100_000


@dataclass(frozen=True)
class Aggregation:
    name: str
    op: str
    field: Path | None  # None only for count: count records, not values


@dataclass(frozen=True)
class AggregateConfig:
    window_ms: int
    aggregations: tuple[Aggregation, ...]
    key_fields: tuple[Path, ...] = ()
    allowed_lateness_ms: int = 0
    event_time_field: Path | None = None
    max_open_windows: int = DEFAULT_MAX_OPEN_WINDOWS

    @classmethod
    def from_dict(cls, params: Mapping[str, Any], where: str = "params") -> "AggregateConfig":
        """Parse ``params``; :class:`ConfigError` names the field and rule."""
        reader = ConfigReader(params, where)
        window_ms = reader.seconds_as_ms("window", positive=True)
        key_names = reader.text_list("key_fields", (), non_empty=False)
        key_fields = tuple(field_path(name, f"{reader.at('key_fields')}[{i}]")
                           for i, name in enumerate(key_names))
        aggregations = _aggregations(reader, taken={WINDOW_START_FIELD, WINDOW_END_FIELD}
                                     | {path[0] for path in key_fields})
        event_field = reader.text("event_time_field", None)
        config = cls(
            window_ms=window_ms, aggregations=aggregations, key_fields=key_fields,
            allowed_lateness_ms=reader.seconds_as_ms("allowed_lateness", positive=False, default=0),
            event_time_field=None if event_field is None else field_path(
                event_field, reader.at("event_time_field")),
            max_open_windows=reader.integer("max_open_windows", 1, DEFAULT_MAX_OPEN_WINDOWS))
        reader.finish()
        return config

    def fingerprint(self) -> dict[str, Any]:
        """What persisted window state depends on; state from another fingerprint is refused."""
        return {"window_ms": self.window_ms,
                "key_fields": [".".join(path) for path in self.key_fields],
                "aggregations": [[a.name, a.op, None if a.field is None else ".".join(a.field)]
                                 for a in self.aggregations]}


def _aggregations(reader: ConfigReader, taken: set[str]) -> tuple[Aggregation, ...]:
    items = reader.raw("aggregations", None)
    where = reader.at("aggregations")
    if not isinstance(items, list) or not items:
        raise ConfigError(where, "must be a non-empty list of {name, op, field}")
    parsed = []
    for i, item in enumerate(items):
        entry = ConfigReader(item, f"{where}[{i}]")
        name = entry.text("name")
        if name in taken:
            raise ConfigError(entry.at("name"), f"{name!r} is already an output field")
        taken.add(name)
        op = entry.choice("op", OPS)
        field_text = entry.text("field", None)
        if field_text is None and op != "count":
            raise ConfigError(entry.at("field"), f"is required for {op}")
        parsed.append(Aggregation(name, op, None if field_text is None
                                  else field_path(field_text, entry.at("field"))))
        entry.finish()
    return tuple(parsed)


def run_aggregate(config: AggregateConfig, records: Sequence[Record], state: Any, *, step: str,
                  now_ms: int, flush: bool = False) -> StepOutcome:
    """Fold a batch into the windows of ``state`` (a dict from a previous outcome, or None).

    The outcome's ``state`` is the new state to persist; the input ``state`` is not modified.
    ``flush=True`` emits every open window after the batch (end of a bounded input).
    """
    windows = WindowState.from_dict(state, config)
    emitted: list[Record] = []
    dead = each_record(records, step, now_ms, lambda record: emitted.extend(windows.absorb(record)))
    if flush:
        emitted.extend(windows.flush())
    return outcome_of(len(records), emitted, dead, 0, through=len(records) - len(dead),
                      state=windows.to_dict())
