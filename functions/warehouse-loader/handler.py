"""The warehouse loader: a batch of records upserted into SQLite or PostgreSQL by record key.

The spec's ``url`` is ``env:NAME`` (read from the environment), ``secret:name`` (an OpenFaaS
secret file: where a URL carrying a password belongs) or a database URL. Rows that cannot be
stored become dead letters with their reason; the rest are written in one transaction. A
database outage answers 503 so the Sensor retries; the upsert makes the retry harmless.
"""
from .etlkit import kafka_io
from .etlkit.http import BadRequest, error_response, json_response
from .etlkit.metrics import count_records
from .etlkit.stepfn import dead_letter_out, output_origin, parse_invocation
from .etlkit.steps import DeadLetter, records_from_events
from .etlkit.warehouse import (DatabaseUrlError, WarehouseError, WarehouseUnavailable, load_batch,
                               open_warehouse, resolve_reference, row_for_record)

kafka_io.start_producer()  # its producer id is ready by the first call

_warehouses = {}


def _warehouse(url_ref):
    try:
        url = resolve_reference(url_ref, "step.url")
    except DatabaseUrlError as exc:  # the function's configuration, not the records: retry-worthy
        raise BadRequest(str(exc), status=500) from None
    if url not in _warehouses:
        _warehouses[url] = open_warehouse(url)
    return _warehouses[url]


def handle(event, context):
    now = kafka_io.now_ms()
    try:
        inv = parse_invocation(event.body, "sink")
        spec = inv.step
        name, table, key = spec.get("name", "sink"), spec.get("table"), spec.get("key")
        for field, value in (("table", table), ("key", key), ("dead_letter", spec.get("dead_letter"))):
            if not isinstance(value, str) or not value:
                raise BadRequest(f"step.{field}: required string")
        records, dead = records_from_events((inv.event,), name, now)
        received = len(records) + len(dead)  # the input's records, decodable or not
        result = load_batch(_warehouse(spec.get("url", "env:WAREHOUSE_URL")), table, key,
                            [row_for_record(r.key, r.value, key) for r in records])
        dead += [DeadLetter.of(records[r.index], name, r.reason, now) for r in result.rejected]
        kafka_io.produce_batches([dead_letter_out(d, spec["dead_letter"]) for d in dead],
                                 output_origin(inv, name))
    except BadRequest as exc:
        return error_response(exc)
    except WarehouseUnavailable as exc:
        return json_response(503, {"error": f"warehouse: {exc}"})
    except WarehouseError as exc:
        return json_response(400, {"error": f"warehouse: {exc}"})
    except kafka_io.DeliveryError as exc:
        return json_response(503, {"error": f"kafka: {exc}"})
    stored = len(records) - len(result.rejected)
    count_records(inv.workflow, name, {"in": received, "out": stored, "filtered": 0,
                                       "dead_lettered": len(dead), "emitted": result.written})
    return json_response(200, {"in": received, "out": stored, "filtered": 0,
                               "dead_lettered": len(dead), "written": result.written})
