"""Step kinds by name, so a step function runs any step from its spec in one call.

>>> from etlkit.steps import Record, run_step
>>> outcome = run_step("filter", {"condition": "n > 1"},
...                    [Record(value={"n": 1}), Record(value={"n": 2})], now_ms=0)
>>> outcome.counters.as_dict()
{'in': 2, 'out': 1, 'filtered': 1, 'dead_lettered': 0, 'emitted': 1}

Parsed configs are cached by their canonical JSON text: in per-event mode a function is called
once per record, and compiling the same condition each time would be wasted work.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from .aggregation import AggregateConfig, run_aggregate
from .argo_event import records_from_events
from .config import ConfigError
from .enrichment import EnrichConfig, run_enrich
from .filtering import FilterConfig, run_filter
from .lookup import Lookup
from .mapping import MapConfig, run_map
from .outcome import DeadLetter, StepCounters, StepOutcome
from .record import Record

_CACHE_SIZE = 256


@dataclass(frozen=True)
class StepContext:
    """What a run needs besides config and records (see :func:`run_step`)."""

    step: str
    now_ms: int
    state: Any = None
    lookup: Lookup | None = None
    flush: bool = False
    # The input of the invocation (docs/contracts.md, "Step invocation"): its identity, which the
    # aggregate applies at most once; the topic and partition of its event (an end batch may hold
    # no record to read them from); whether it was its partition's last batch; and how to count
    # the topic's partitions (kafka_io.partition_count; None: unknown, the partitions seen
    # count), for the aggregate's watermark.
    identity: str | None = None
    topic: str | None = None
    partition: int | None = None
    end: bool = False
    partition_count: Callable[[str], int | None] | None = None
    # The aggregate runs one partition's lane of a shared state (etlkit/state_store.py).
    lane: bool = False


@dataclass(frozen=True)
class StepKind:
    """A step kind: ``parse(params, where) -> config`` and ``run(config, records, context)``."""

    name: str
    parse: Callable[[Mapping[str, Any], str], Any]
    run: Callable[[Any, Sequence[Record], StepContext], StepOutcome]


def _enrich(config: EnrichConfig, records: Sequence[Record], context: StepContext) -> StepOutcome:
    if context.lookup is None:
        raise ValueError("run_step: an enrich step needs lookup= (see build_lookup)")
    return run_enrich(config, records, step=context.step, now_ms=context.now_ms,
                      lookup=context.lookup)


def _aggregate(config: AggregateConfig, records: Sequence[Record],
               context: StepContext) -> StepOutcome:
    count = context.partition_count
    partitions = count(context.topic) if count is not None and context.topic else None
    return run_aggregate(config, records, context.state, step=context.step, now_ms=context.now_ms,
                         flush=context.flush, identity=context.identity,
                         partition=context.partition, partitions=partitions, end=context.end,
                         lane=context.lane)


STEP_KINDS: dict[str, StepKind] = {
    "filter": StepKind("filter", FilterConfig.from_dict, lambda config, records, context: run_filter(
        config, records, step=context.step, now_ms=context.now_ms)),
    "map": StepKind("map", MapConfig.from_dict, lambda config, records, context: run_map(
        config, records, step=context.step, now_ms=context.now_ms)),
    "enrich": StepKind("enrich", EnrichConfig.from_dict, _enrich),
    "aggregate": StepKind("aggregate", AggregateConfig.from_dict, _aggregate),
}

_parsed: OrderedDict[tuple[str, str, str], Any] = OrderedDict()


def _cached(kind: str, where: str, data: Any, parse: Callable[[], Any]) -> Any:
    try:
        cache_key = (kind, where, json.dumps(data, sort_keys=True, separators=(",", ":")))
    except (TypeError, ValueError):  # not JSON: parse uncached (and let the parser explain)
        return parse()
    config = _parsed.get(cache_key)
    if config is None:
        config = parse()
        _parsed[cache_key] = config
        if len(_parsed) > _CACHE_SIZE:
            _parsed.popitem(last=False)
    else:
        _parsed.move_to_end(cache_key)
    return config


def _kind(kind: str, where: str) -> StepKind:
    step_kind = STEP_KINDS.get(kind) if isinstance(kind, str) else None
    if step_kind is None:
        raise ConfigError(where, "must be one of " + ", ".join(STEP_KINDS))
    return step_kind


def parse_step_config(kind: str, params: Mapping[str, Any], where: str = "params") -> Any:
    """The typed config of a ``kind`` step from its params (a filter's are ``{"condition"}``);
    :class:`ConfigError` names the field and the rule."""
    step_kind = _kind(kind, "kind")
    return _cached(kind, where, params, lambda: step_kind.parse(params, where))


def parse_step(kind: str, params: Mapping[str, Any] | None = None, condition: str | None = None,
               where: str = "") -> Any:
    """The typed config of one workflow step, as a workflow writes it: a filter's condition is
    the step's ``condition``, every other kind says what to do in ``params``.

    Error paths are relative to ``where`` (the step's own path, e.g. ``steps[2]``).
    """
    prefix = f"{where}." if where else ""
    _kind(kind, f"{prefix}kind")
    if kind != "filter":
        if condition is not None:
            raise ConfigError(f"{prefix}condition",
                              f"only filter steps take a condition (this is a {kind} step)")
        return parse_step_config(kind, params or {}, f"{prefix}params")
    if params:
        raise ConfigError(f"{prefix}params", "a filter step takes no params (its condition is "
                                             "the step's condition)")
    if condition is None:
        raise ConfigError(f"{prefix}condition", "is required for a filter step")
    return _cached("filter-condition", prefix, condition,
                   lambda: FilterConfig.from_condition(condition, f"{prefix}condition"))


def run_step(kind: str, params: Mapping[str, Any], records: Sequence[Record], state: Any = None,
             now_ms: int = 0, *, step: str | None = None, lookup: Lookup | None = None,
             where: str = "params", flush: bool = False) -> StepOutcome:
    """Run one step over a batch.

    ``state`` is the previous outcome's ``state`` (aggregate only; others return None).
    ``now_ms`` stamps dead letters (``at``) and drives lookup refresh. ``step`` names the step in
    dead letters (default: the kind). ``lookup`` is required by ``enrich`` (see
    :func:`~.enrichment.build_lookup`). ``flush`` closes all aggregate windows after the batch.
    Raises :class:`ConfigError` for bad params, :class:`~.windows.StateError` for unusable
    state and :class:`~.lookup.LookupUnavailable` when no lookup table can be served: batch-level
    faults worth a retry or a fix, never caused by a single record.
    """
    config = parse_step_config(kind, params, where)
    context = StepContext(step or kind, now_ms, state, lookup, flush)
    return STEP_KINDS[kind].run(config, records, context)


def run_step_on_events(spec: Mapping[str, Any], events: Sequence[Any], state: Any = None,
                       now_ms: int = 0, *, lookup: Lookup | None = None,
                       flush: bool = False, identity: str | None = None, end: bool = False,
                       partition_count: Callable[[str], int | None] | None = None,
                       lane: bool = False) -> StepOutcome:
    """Run the step ``spec`` of a step invocation (``{"kind", "name", "condition"?, "params"?}``)
    over its Argo event data. Events without a record become dead letters too, and the
    counters include them (``in`` is the number of events). ``identity``, ``end`` and
    ``partition_count``, ``lane``: see :class:`StepContext`."""
    if not isinstance(spec, Mapping):
        raise ConfigError("step", "must be an object")
    kind = spec.get("kind")
    config = parse_step(kind, spec.get("params"), spec.get("condition"), "step")
    name = spec.get("name") if isinstance(spec.get("name"), str) and spec.get("name") else kind
    records, undecodable = records_from_events(events, name, now_ms)
    first = events[0] if events and isinstance(events[0], Mapping) else {}
    topic, partition = first.get("topic"), first.get("partition") if len(events) == 1 else None
    context = StepContext(name, now_ms, state, lookup, flush, identity,
                          topic if isinstance(topic, str) else None,
                          partition if type(partition) is int else None, end, partition_count,
                          lane)
    outcome = STEP_KINDS[kind].run(config, records, context)
    if outcome.counters.duplicate:  # applied before: its bad entries were dead-lettered then
        return outcome
    return with_extra_dead_letters(outcome, undecodable)


def with_extra_dead_letters(outcome: StepOutcome, extra: Sequence[DeadLetter]) -> StepOutcome:
    """``outcome`` with ``extra`` dead letters prepended and counted as input too."""
    if not extra:
        return outcome
    c = outcome.counters
    counters = StepCounters(c.in_ + len(extra), c.out, c.filtered, c.dead_lettered + len(extra),
                            c.emitted)
    return replace(outcome, dead_letters=(*extra, *outcome.dead_letters), counters=counters)
