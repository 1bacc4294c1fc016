"""The pure record logic of the ETL steps: ``filter``, ``map``, ``enrich`` and ``aggregate``.

No Kafka, HTTP or database here: each step is a function from a batch of :class:`Record` to a
:class:`StepOutcome` (emitted records, dead letters with reasons, counters, and state for
``aggregate``). A bad record becomes a dead letter and never stops the batch. A step function
(``functions/<kind>/handler.py``) is a thin adapter around :func:`run_step_on_events`::

    outcome = run_step_on_events(envelope["step"], events, state, now_ms, lookup=lookup)
    produce(outcome.records); produce_dead_letters(d.to_dict() for d in outcome.dead_letters)
    answer(outcome.counters.as_dict())
"""
from .aggregation import AggregateConfig, Aggregation, run_aggregate
from .argo_event import BadEvent, parse_go_time, record_from_argo_event, records_from_events
from .casts import CASTS, CastError
from .config import ConfigError
from .enrichment import EnrichConfig, build_lookup, enrich_value, run_enrich
from .event_time import event_time_ms
from .expressions import (Condition, EvalError, Expression, ParseError, compile_condition,
                          compile_expression)
from .failures import RecordError
from .file_lookup import FileLookupSource, LookupLoadError
from .filtering import FilterConfig, run_filter
from .lookup import CachedLookup, Lookup, LookupSource, LookupUnavailable, StaticLookup
from .mapping import MapConfig, map_value, run_map
from .outcome import DeadLetter, StepCounters, StepOutcome
from .record import EVENT_TIME_HEADER, SOURCE_HEADER, Record
from .registry import (STEP_KINDS, StepContext, StepKind, parse_step, parse_step_config, run_step,
                       run_step_on_events, with_extra_dead_letters)
from .windows import StateError, WindowState

__all__ = [
    "AggregateConfig", "Aggregation", "BadEvent", "build_lookup", "CachedLookup", "CastError",
    "CASTS", "compile_condition", "compile_expression", "Condition", "ConfigError", "DeadLetter",
    "enrich_value", "EnrichConfig", "EvalError", "EVENT_TIME_HEADER", "event_time_ms",
    "Expression", "FileLookupSource", "FilterConfig", "Lookup", "LookupLoadError", "LookupSource",
    "LookupUnavailable", "map_value", "MapConfig", "parse_go_time", "parse_step",
    "parse_step_config", "ParseError", "Record", "record_from_argo_event", "RecordError",
    "records_from_events", "run_aggregate", "run_enrich", "run_filter", "run_map", "run_step",
    "run_step_on_events", "SOURCE_HEADER", "StateError", "StaticLookup", "STEP_KINDS",
    "StepContext", "StepCounters", "StepKind", "StepOutcome", "WindowState",
    "with_extra_dead_letters",
]
