"""The shared core of the step functions (filter, map, enrich, aggregate): one invocation in,
records and dead letters out to Kafka as record batches, counters back.

A handler is three lines around :func:`handle_step`. The body is the "Step invocation" of
docs/contracts.md: ``{"workflow", "version", "step": {...}, "id": <Argo event id>,
"event": {...}}``, what an Argo Events Sensor posts for one Kafka message (which is a record
batch when our functions wrote it). Outputs go to the step's ``output`` topic and dead letters to
its ``dead_letter`` topic, as batches whose ids derive from the input's identity; the answer is
200 with the counters only once Kafka acknowledged every one of them, so a retry after any
failure is safe, and writes the same batch ids again.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from .calllog import note_dead_letters, note_step
from .http import BadRequest, error_response, json_response, parse_json_body, whole_number
from .metrics import count_records
from .outrecord import OutRecord, json_bytes, out_record
from .steps import (ConfigError, DeadLetter, LookupUnavailable, Record, StateError,
                    StepCounters, StepOutcome, run_step_on_events)
from .steps.argo_event import batch_end, is_batch_event
from .steps.record import SOURCE_HEADER
from .wire import BATCH_HEADER, ProduceBatches
from .workflow.names import lane_free_event_id

if TYPE_CHECKING:
    from .state_store import StateStore


@dataclass(frozen=True)
class Invocation:
    workflow: str
    version: int
    step: dict[str, Any]
    # The Argo Kafka event data (topic, key, partition, body, timestamp, headers), or a ticked
    # source's tick.
    event: Any
    # The input's identity (docs/contracts.md): a batch's etl-batch header, else the Argo event
    # id the Sensor sent as "id"; None for a direct call that gave neither.
    identity: str | None = None
    # The input batch was the last of its partition ("end": true): a bounded input is over there.
    end: bool = False
    # The input's partition (the event's), where an end is forwarded to; None when not given.
    partition: int | None = None


def parse_invocation(body: bytes, kind: str | None = None, role: str = "step") -> Invocation:
    """The envelope, checked: every error names the field and the rule."""
    doc = parse_json_body(body)
    if not isinstance(doc, dict):
        raise BadRequest("body: must be a JSON object (a step invocation)")
    spec = doc.get(role)
    if isinstance(spec, str):  # Argo's `value` parameters arrive as JSON text
        try:
            spec = json.loads(spec)
        except ValueError:
            raise BadRequest(f"{role}: not valid JSON text") from None
    if not isinstance(spec, dict):
        raise BadRequest(f"{role}: required, an object")
    # From here on the call's log lines and last error name the step (etlkit/calllog.py).
    note_step(str(doc.get("workflow", "")), str(spec.get("name") or kind or ""))
    name = spec.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise BadRequest(f"{role}.name: must be a non-empty text, got {name!r}")
    if kind is not None and spec.get("kind") != kind:
        raise BadRequest(f"{role}.kind: this function runs {kind!r} steps, got {spec.get('kind')!r}")
    if "event" not in doc:
        raise BadRequest("event: required, the Argo event data (one Kafka message)")
    event = doc["event"]
    version = doc.get("version", 0)
    identity = doc.get("id")
    if identity is not None and not isinstance(identity, str):
        raise BadRequest("id: must be text (the Argo event id)")
    if identity is not None:  # whichever lane read the message (workflow/names.py)
        identity = lane_free_event_id(identity)
    if is_batch_event(event):
        identity = str(event["headers"][BATCH_HEADER])
    partition = event.get("partition") if isinstance(event, dict) else None
    workflow = doc.get("workflow", "")
    if not isinstance(workflow, str):
        raise BadRequest(f"workflow: must be text (the workflow's name), got {workflow!r}")
    return Invocation(workflow=workflow, step=spec, event=event,
                      version=whole_number(version, "version"),
                      identity=identity or None, end=batch_end(event),
                      partition=partition if type(partition) is int else None)


def _topic(spec: Mapping[str, Any], field: str) -> str:
    topic = spec.get(field)
    if not isinstance(topic, str) or not topic:
        raise BadRequest(f"step.{field}: required, the topic name")
    return topic


def record_out(record: Record, topic: str) -> OutRecord:
    """``record`` as it goes to ``topic``: JSON value, UTF-8 key, :func:`kafka_headers`, and its
    event time as the Kafka timestamp."""
    return records_out((record,), topic)[0]


def records_out(records: Iterable[Record], topic: str) -> list[OutRecord]:
    """:func:`record_out` of each of ``records``, in one loop: a batch's outputs are built here,
    and a Python call per record for each part (the record, its headers, the tuple) cost as much
    as the parts themselves."""
    out: list[OutRecord] = []
    append = out.append
    for record in records:
        key, timestamp = record.key, record.timestamp
        # out_record(...), without its call: an OutRecord is a tuple.
        append(_tuple_new(OutRecord, (topic, json_bytes(record.value),
                                      None if key is None else key.encode(),
                                      kafka_headers(record.headers), timestamp,
                                      record.partition)))
    return out


_tuple_new = tuple.__new__


def kafka_headers(headers: Mapping[str, str]) -> tuple[tuple[str, bytes], ...]:
    """The record's headers, sorted by name, UTF-8. No ``etl-event-time`` is added from the
    record's timestamp: in a batch the entry's ``time`` is the event time (docs/contracts.md,
    "Records on Kafka"), and a header repeating it would only be left out again."""
    if len(headers) == 1:
        # The contract's one header (etl-source), which nearly every record has: no sorted(),
        # no list of pairs built to become a tuple.
        for name, text in headers.items():
            return ((name, text.encode()),)
    items: Any = sorted(headers.items()) if len(headers) > 1 else ()
    return tuple([(name, text.encode()) for name, text in items])


def dead_letter_out(letter: DeadLetter, topic: str) -> OutRecord:
    return out_record(topic, json_bytes(letter.to_dict()),
                      None if letter.key is None else letter.key.encode(),
                      ((SOURCE_HEADER, letter.step.encode()),), letter.at)


def outputs_of(outcome: StepOutcome, spec: Mapping[str, Any]) -> list[OutRecord]:
    out: list[OutRecord] = []
    if outcome.records:
        topic = _topic(spec, "output")
        out += records_out(outcome.records, topic)
    if outcome.dead_letters:
        topic = _topic(spec, "dead_letter")
        out += [dead_letter_out(d, topic) for d in outcome.dead_letters]
    return out


def handle_step(body: bytes, kind: str, now_ms: int, produce: ProduceBatches, *,
                state: "StateStore | None" = None,
                lookup: Callable[[Mapping[str, Any]], Any] | None = None,
                partition_count: Callable[[str], int | None] | None = None) -> dict:
    """Parse, run the step, produce everything, answer the counters (or the reason not to).

    ``produce``: writes the outputs as batches (``kafka_io.produce_batches``) from the origin
    ``<input identity>/<step name>`` (a random id in place of a missing identity), and forwards
    an input's end to the output partition its records go to. ``state``: where a stateful step
    (aggregate) keeps its state (etlkit/state_store.py): its input partition's lane is read, run
    and written in one transaction that queues what it emits, produced after the commit; the
    answer is 200 once Kafka acknowledged every queued entry. ``lookup``: builds
    the enrich step's lookup table from the step spec. ``partition_count``: the partitions of a
    topic (kafka_io.partition_count), for the aggregate's per-partition watermark.
    """
    from .kafka_io import DeliveryError  # the I/O errors this layer turns into answers
    from .state_db import StateUnavailable

    try:
        inv = parse_invocation(body, kind)
        table = lookup(inv.step) if lookup else None
        name = str(inv.step.get("name") or kind)
        events = (inv.event,)
        if state is None:
            outcome = run_step_on_events(inv.step, events, None, now_ms, lookup=table)
            _produce_outcome(produce, outcome, inv, name)
        else:
            outcome = _run_in_lane(state, inv, name, events, now_ms, table, produce,
                                   partition_count)
    except BadRequest as exc:
        return error_response(exc)
    except (ConfigError, StateError) as exc:
        return json_response(400, {"error": str(exc)})
    except LookupUnavailable as exc:
        return json_response(503, {"error": f"lookup: {exc}"})
    except StateUnavailable as exc:
        return json_response(503, {"error": str(exc)})
    except DeliveryError as exc:
        return json_response(503, {"error": f"kafka: {exc}"})
    # Counted only now that Kafka acknowledged everything: a retried call is not counted twice.
    note_dead_letters((d.key, d.reason) for d in outcome.dead_letters)
    newest = max([r.timestamp for r in outcome.records if r.timestamp is not None], default=None)
    count_records(inv.workflow, name, outcome.counters.as_dict(),
                  lag_s=None if newest is None else max(0.0, (now_ms - newest) / 1000.0))
    return json_response(200, outcome.counters.as_dict())


def _run_in_lane(state: "StateStore", inv: Invocation, name: str, events: tuple, now_ms: int,
                 table: Any, produce: ProduceBatches,
                 partition_count: Callable[[str], int | None] | None) -> StepOutcome:
    """A stateful step (the aggregate): its input partition's lane of the shared state, the
    windows it made due settled, everything produced from the store's outbox."""
    from .state_store import Entry
    from .steps.aggregation import settle_aggregate
    from .steps.registry import parse_step_config

    topic = inv.event.get("topic") if isinstance(inv.event, dict) else None
    partitions = (partition_count(topic) if partition_count is not None and isinstance(topic, str)
                  and topic else None)

    def config() -> Any:
        return parse_step_config("aggregate", inv.step.get("params") or {}, "step.params")

    def settle(whole: Any) -> tuple[list[Record | DeadLetter], Any]:
        return settle_aggregate(config(), whole, now_ms=now_ms, step=name,
                                partition=inv.partition, partitions=partitions)

    def lane_entry(outcome: StepOutcome) -> Entry:
        ended = None
        if inv.end and inv.partition is not None:
            ended = {_topic(inv.step, "output"): (inv.partition,)}
        return Entry(output_origin(inv, name), outputs_of(outcome, inv.step), ended)

    def emission_entry(results: list[Record | DeadLetter], number: int) -> Entry:
        # The n-th settling of this step: the same batch ids whichever replica produces it.
        closed = StepOutcome(tuple(r for r in results if type(r) is Record),
                             tuple(r for r in results if type(r) is DeadLetter),
                             StepCounters(0, 0, 0, 0, 0), None)
        return Entry(f"{inv.workflow}/{name}/windows/{number}", outputs_of(closed, inv.step))

    outcome, settled = state.invoke(
        f"{inv.workflow}/{name}", inv.partition,
        run=lambda previous: run_step_on_events(
            inv.step, events, previous, now_ms, lookup=table, identity=inv.identity, end=inv.end,
            partition_count=partition_count, lane=True),
        settle=settle, lane_entry=lane_entry, emission_entry=emission_entry,
        window_ms=lambda: config().window_ms, produce=produce)
    # The windows this call settled are what it emitted (another replica's call may settle
    # the windows this one's records went into); a window that failed is a dead letter.
    results = tuple(r for r in settled if type(r) is Record)
    return StepOutcome(results, outcome.dead_letters + tuple(r for r in settled if type(r) is DeadLetter),
                       replace(outcome.counters, emitted=len(results)), outcome.state)


def _produce_outcome(produce: ProduceBatches, outcome: StepOutcome, inv: Invocation,
                     name: str) -> None:
    """The outcome's records and dead letters as batches of :func:`output_origin`.

    An ended input partition ends the output partition its records went to (the input's,
    modulo the output's count: :func:`records_out` keeps it), and only that one: the other
    input partitions may still be running."""
    origin = output_origin(inv, name)
    ended = None
    if inv.end and inv.partition is not None:
        ended = {_topic(inv.step, "output"): (inv.partition,)}
    produce(outputs_of(outcome, inv.step), origin, end=ended is not None, end_partitions=ended)


def output_origin(inv: Invocation, name: str) -> str:
    """The origin of the batches step ``name`` writes for ``inv``: ``<input identity>/<name>``,
    so the same input gives the same batch ids and a consumer can tell a redelivered output.
    An input without an identity (a direct call) gets a random one: nothing to recognise then."""
    return f"{inv.identity or uuid.uuid4().hex}/{name}"
