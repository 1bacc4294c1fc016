"""The warehouse loader's core (handle_sink) on real databases, with the bodies a Sensor posts:
at most once per input identity, and exact values from a step's input to a SELECT."""
from __future__ import annotations

import json
from decimal import Decimal

from etlkit.http import parse_json_body
from etlkit.stepfn import handle_step
from etlkit.warehouse import APPLIED_TABLE
from etlkit.warehouse.sink import handle_sink
from etlkit.wire import BATCH_HEADER, batches
from tests.etlkit.warehouse.conftest import Backend

STAMP = "2026-12-07 20:00:00.5 +0000 UTC"  # Go's time.String(), as the Argo Kafka event has it


def _invocation(step: dict, event_id: str, topic: str, body: bytes, headers: dict) -> bytes:
    """What a Sensor posts (docs/contracts.md, "Step invocation"): ``step`` as JSON text (a
    ``value`` parameter), the event id (``contextKey: id``) and the event data's own bytes
    (``dataKey: "@this"``, ``useRawData: true``: argo-events v1.9.11 ``pkg/sensors/triggers/
    params.go`` sets them with ``sjson.SetRawBytes``), so ``body`` goes in unparsed."""
    head = json.dumps({"workflow": "w", "version": 1, "step": json.dumps(step), "id": event_id})
    event = (b'{"topic":' + json.dumps(topic).encode() + b',"key":"","partition":0,"body":' + body
             + b',"timestamp":"' + STAMP.encode() + b'","headers":' + json.dumps(headers).encode() + b"}")
    return head[:-1].encode() + b',"event":' + event + b"}"


def _sink(table: str) -> dict:
    return {"kind": "sink", "name": "load", "table": table, "key": "id", "url": "env:UNUSED",
            "dead_letter": "dlq"}


def _batch_body(table: str, batch_id: str, values: list[bytes]) -> bytes:
    entries = b",".join(b'{"key":null,"time":1,"headers":{},"value":' + v + b"}" for v in values)
    return _invocation(_sink(table), f"es:clean:127.0.0.1:9092:clean:0:{len(values)}", "clean",
                       b'{"records":[' + entries + b"]}", {BATCH_HEADER: batch_id})


def _answer(response: dict) -> dict:
    assert response["headers"]["Content-Type"] == "application/json"
    return {"status": response["statusCode"], **json.loads(response["body"])}


def test_a_redelivered_batch_answers_duplicate_writes_nothing_and_dead_letters_again(
        backend: Backend, table: str):
    body = _batch_body(table, "b-1", [b'{"id":"a","n":1}', b'{"id":"b","n":"x"}', b'{"id":"c","n":3}'])
    # "n" is an integer column from the first batch: the second row of the next is a dead letter.
    load = lambda b, produced: _answer(handle_sink(b, 5, lambda records, origin, **_: produced.extend(records), lambda _url: backend.warehouse))  # noqa: E731
    load(_batch_body(table, "b-0", [b'{"id":"z","n":0}']), [])
    first, again = [], []
    assert load(body, first) == {"status": 200, "in": 3, "out": 2, "filtered": 0, "dead_lettered": 1,
                                 "written": 2}
    assert load(body, again) == {"status": 200, "in": 3, "out": 2, "filtered": 0, "dead_lettered": 1,
                                 "written": 0, "duplicate": 1}
    assert backend.rows(table) == [("a", 1), ("c", 3), ("z", 0)]
    assert [json.loads(r.value)["key"] for r in first] == [json.loads(r.value)["key"] for r in again] == [None]
    assert backend.query(f"SELECT batch_id FROM {APPLIED_TABLE} WHERE consumer = 'w/load/{table}'"
                         " ORDER BY 1") == [("b-0",), ("b-1",)]


def test_a_plain_message_is_applied_once_by_its_argo_event_id(backend: Backend, table: str):
    body = _invocation(_sink(table), "es:orders:127.0.0.1:9092:orders:0:41", "orders",
                       b'{"id":"a","n":1}', {})
    answers = [_answer(handle_sink(body, 5, lambda records, origin, **_: None, lambda _url: backend.warehouse)).get("duplicate", 0)
               for _ in range(2)]
    assert answers == [0, 1]
    assert backend.query(f"SELECT batch_id FROM {APPLIED_TABLE} WHERE consumer = 'w/load/{table}'") == [
        ("es:orders:127.0.0.1:9092:orders:0:41",)]


# The issue's record (int64's largest, 2**53 + 1, a 30-digit decimal, text past ASCII) with an
# integer past 64 bits and a nested long decimal; written as a foreign producer would.
RAW = ('{"id": 9223372036854775807, "n": 9007199254740993, "d": 123456789012345678901234567890.123, '
       '"s": "café ☕", "big": 123456789012345678901234567890, '
       '"nested": {"x": 0.1000000000000000055511151231257827, "y": [1e400]}}').encode()
# Each column read back as text, digit for digit, on both backends.
EXPECTED_TEXT = {"id": "9223372036854775807", "n": "9007199254740993",
                 "d": "123456789012345678901234567890.123", "text": "café ☕",
                 "big": "123456789012345678901234567890"}


def test_exact_values_from_a_steps_input_to_the_warehouse(backend: Backend, table: str):
    # A map step reads the record from the Argo event and writes it out (json_bytes) ...
    spec = {"kind": "map", "name": "tidy", "output": "clean", "dead_letter": "dlq",
            "params": {"rename": {"s": "text"}, "cast": {"n": "int"}}}
    mapped = []
    event_id = "es:orders:127.0.0.1:9092:orders:0:7"
    answer = _answer(handle_step(_invocation(spec, event_id, "orders", RAW, {"etl-source": "shop"}),
                                 "map", 5, lambda records, origin, **_: mapped.extend(records)))
    assert (answer["status"], answer["out"], len(mapped)) == (200, 1, 1)
    assert b'"d":123456789012345678901234567890.123' in mapped[0].value
    # ... as a batch on the wire (etlkit/wire.py), which the Sensor hands the loader unparsed ...
    (message,) = batches(mapped, f"{event_id}/tidy", lambda _topic: 1)
    body = _invocation(_sink(table), "es:clean:127.0.0.1:9092:clean:0:0", "clean", message.value,
                       {BATCH_HEADER: dict(message.headers)[BATCH_HEADER].decode()})
    loaded = _answer(handle_sink(body, 5, lambda records, origin, **_: None, lambda _url: backend.warehouse))
    assert (loaded["status"], loaded["written"], loaded["dead_lettered"]) == (200, 1, 0)
    # ... and every value is in the table as it was written at the start.
    columns = ", ".join(f'CAST("{name}" AS TEXT)' for name in EXPECTED_TEXT)
    (row,) = backend.query(f'SELECT {columns}, CAST("nested" AS TEXT) FROM "{table}"')
    assert dict(zip(EXPECTED_TEXT, row[:-1])) == EXPECTED_TEXT
    assert parse_json_body(row[-1].encode()) == {"x": Decimal("0.1000000000000000055511151231257827"),
                                                 "y": [Decimal("1E+400")]}
    # Typed as the backends keep them: 64-bit integers, exact numerics (SQLite: their text).
    (typed,) = backend.query(f'SELECT "id", "n", "d", "big" FROM "{table}"')
    assert typed[:2] == (2**63 - 1, 2**53 + 1)
    assert [Decimal(str(v)) for v in typed[2:]] == [Decimal("123456789012345678901234567890.123"),
                                                    Decimal("123456789012345678901234567890")]
