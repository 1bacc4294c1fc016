"""The warehouse-loader function's core: one invocation in, rows written at most once, the
counters back (docs/contracts.md, "Step invocation"). The handler is three lines around
:func:`handle_sink`; the database and Kafka come in as arguments, so a test runs it whole
against a real database with no gateway.

At most once: the input's identity (``Invocation.identity``: the batch's ``etl-batch`` id, else
the Argo event id) goes into ``faas_etl_applied`` in the transaction of the rows. A redelivered
input is answered 200 with ``"duplicate": 1`` (as every step answers one: etlkit/steps/outcome.py
StepCounters) and writes nothing; its counters are not counted
again. Its dead letters are produced again: the first call may have failed before Kafka took
them (a dead letter is at least once; a redelivery yields the same records).
"""
from __future__ import annotations

from typing import Any, Callable

from ..calllog import note_dead_letters
from ..http import BadRequest, error_response, json_response
from ..metrics import count_records
from ..stepfn import dead_letter_out, output_origin, parse_invocation
from ..steps import DeadLetter, records_from_events
from ..wire import ProduceBatches
from .applied import AppliedMark, consumer_name
from .errors import WarehouseError, WarehouseMisconfigured, WarehouseUnavailable
from .loader import load_batch, row_for_record
from .protocol import Warehouse

# The warehouse a step spec's "url" reference names (the handler resolves and caches it).
WarehouseFor = Callable[[str], Warehouse]


def handle_sink(body: bytes, now_ms: int, produce: ProduceBatches, warehouse_for: WarehouseFor) -> dict:
    """Parse, load, produce the dead letters, answer the counters (or the reason not to)."""
    from ..kafka_io import DeliveryError  # the only I/O error this layer turns into an answer

    try:
        inv = parse_invocation(body, "sink")
        spec = inv.step
        name, table, key = spec.get("name") or "sink", spec.get("table"), spec.get("key")
        for field, value in (("table", table), ("key", key), ("dead_letter", spec.get("dead_letter"))):
            if not isinstance(value, str) or not value:
                raise BadRequest(f"step.{field}: required string")
        records, dead = records_from_events((inv.event,), name, now_ms)
        applied = (None if inv.identity is None
                   else AppliedMark(consumer_name(inv.workflow, name, table), inv.identity, now_ms))
        result = load_batch(warehouse_for(spec.get("url", "env:WAREHOUSE_URL")), table, key,
                            [row_for_record(r.key, r.value, key) for r in records], applied=applied)
        dead += [DeadLetter.of(records[r.index], name, r.reason, now_ms) for r in result.rejected]
        produce([dead_letter_out(d, spec["dead_letter"]) for d in dead], output_origin(inv, name))
    except BadRequest as exc:
        return error_response(exc)
    except WarehouseUnavailable as exc:
        return json_response(503, {"error": f"warehouse: {exc}"})
    except WarehouseMisconfigured as exc:  # the deployment's fault, not the request's: a 5xx
        return json_response(500, {"error": f"warehouse: {exc}"})
    except WarehouseError as exc:
        return json_response(400, {"error": f"warehouse: {exc}"})
    except DeliveryError as exc:
        return json_response(503, {"error": f"kafka: {exc}"})
    note_dead_letters((d.key, d.reason) for d in dead)
    stored = len(records) - len(result.rejected)
    counters: dict[str, Any] = {"in": stored + len(dead), "out": stored, "filtered": 0,
                                "dead_lettered": len(dead)}
    if not result.duplicate:  # a redelivery was counted when it was applied
        count_records(inv.workflow, name, {**counters, "emitted": result.written})
    answer = {**counters, "written": result.written}
    if result.duplicate:
        answer["duplicate"] = 1
    return json_response(200, answer)
