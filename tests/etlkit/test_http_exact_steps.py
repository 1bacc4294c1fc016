"""What a step does with a number read exactly (etlkit.http reads one a double cannot hold as a
Decimal): the map passes it on and casts it; a filter or an aggregate does not yet compute on it
(issue 15: they dead-letter it as not a number, where they rounded it to a double before)."""
import json
from decimal import Decimal

import pytest

from etlkit.http import parse_json_body
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


@pytest.mark.xfail(strict=True, reason="issue 15: filters compare only int and float; a Decimal "
                                       "(a number a double cannot hold) is dead-lettered")
def test_a_filter_compares_an_exact_number():
    outcome = _run({"kind": "filter", "condition": "d > 1"}, LONG)
    assert [json.dumps(d.reason) for d in outcome.dead_letters] == [] and len(outcome.records) == 1


@pytest.mark.xfail(strict=True, reason="issue 15: the aggregate sums only int and float; a Decimal "
                                       "(a number a double cannot hold) is dead-lettered")
def test_an_aggregate_sums_an_exact_number():
    outcome = _run({"kind": "aggregate", "params": {
        "window": "1m", "time_field": "at", "allowed_lateness": "1h", "group_by": ["c"],
        "aggregations": {"total": {"sum": "d"}}}}, LONG)
    assert outcome.dead_letters == []
