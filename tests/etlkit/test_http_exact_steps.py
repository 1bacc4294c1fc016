"""What a step does with a number read exactly (etlkit.http reads one a double cannot hold as a
Decimal): the map passes it on and casts it, a filter compares it exactly (etlkit/steps/numbers.py);
the aggregate sums it exactly."""
import json
from decimal import Decimal

import pytest

from etlkit.http import parse_json_body
from etlkit.outrecord import json_bytes
from etlkit.steps import run_step_on_events

LONG = "123456789012345678901234567890.123"


def _run(spec: dict, value: str):
    event = parse_json_body(('{"topic": "in", "key": "k", "partition": 0, "timestamp": '
                             '"2024-06-01 09:00:30 +0000 UTC", "headers": {}, "body": {"d": '
                             + value + ', "keep": ' + value + ', "at": "2024-06-01T09:00:30Z", "c": "fr"}}').encode())
    return run_step_on_events({"name": "s", **spec}, [event], None, 1_717_236_000_000)


@pytest.mark.parametrize("cast, expected", [
    pytest.param("str", LONG, id="str-its-digits"),
    pytest.param("float", float(LONG), id="float-the-nearest-double-when-asked"),
])
def test_a_map_passes_an_exact_number_on_and_casts_it(cast, expected):
    outcome = _run({"kind": "map", "params": {"cast": {"d": cast}}}, LONG)
    (record,) = outcome.records
    assert record.value["d"] == expected and type(record.value["d"]) is type(expected)
    assert str(record.value["keep"]) == LONG  # not cast: passed on with its digits


def test_a_filter_compares_an_exact_number():
    outcome = _run({"kind": "filter", "condition": "d > 1"}, LONG)
    assert [json.dumps(d.reason) for d in outcome.dead_letters] == [] and len(outcome.records) == 1


@pytest.mark.parametrize("condition, kept", [
    pytest.param(f"d == {LONG}", True, id="equal-to-its-own-literal"),
    pytest.param(f"d < {LONG}1", True, id="a-digit-further-is-larger"),
    pytest.param("d > 123456789012345678901234567890.1229", True, id="past-a-double-s-17-digits"),
    pytest.param("d == 123456789012345678901234567890.0", False, id="not-the-nearest-double"),
    pytest.param("d - 123456789012345678901234567890 == 0.123", True, id="exact-difference"),
])
def test_a_filter_decides_on_every_digit(condition, kept):
    outcome = _run({"kind": "filter", "condition": condition}, LONG)
    assert list(outcome.dead_letters) == [] and len(outcome.records) == int(kept)


def test_a_map_computes_on_an_exact_number_and_writes_its_digits():
    outcome = _run({"kind": "map", "params": {"derive": {"twice": "d * 2", "less": "d - 0.123"}}}, LONG)
    (record,) = outcome.records
    assert json_bytes({k: record.value[k] for k in ("twice", "less")}) == (
        b'{"twice":246913578024691357802469135780.246,"less":123456789012345678901234567890.000}')


def test_an_aggregate_sums_an_exact_number():
    outcome = _run({"kind": "aggregate", "params": {
        "window": "1m", "time_field": "at", "allowed_lateness": "1h", "group_by": ["c"],
        "aggregations": {"total": {"sum": "d"}}}}, LONG)
    assert list(outcome.dead_letters) == []
    (window,) = outcome.state["windows"]  # open: its partial holds the number with every digit
    assert window["acc"] == [Decimal(LONG)] and json_bytes(window["acc"]) == f"[{LONG}]".encode()
