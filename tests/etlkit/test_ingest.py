"""Ingest's pure half: what the pipeline could not carry faithfully is refused at the door, per
record and by field: text that is not Unicode, nesting past the limit, JSON's non-numbers.
Numbers of any size are carried exactly (issue 15, "Exact values")."""
import json

import pytest

from etlkit.http import BadRequest
from etlkit.ingest import MAX_DEPTH, plan_ingest


def _plan(body: str, key="id"):
    return plan_ingest("t", body.encode(), key_field=key, source="s", max_batch=100, now_ms=1)


@pytest.mark.parametrize("record,error", [
    ('{"id": "\\ud800"}', "records[0].id: text is not valid Unicode (\\ud800)"),
    ('{"id": "a", "v": {"w": ["ok", "x\\udfff"]}}', "records[0].v.w[1]: text is not valid Unicode (x\\udfff)"),
    ('{"id": "a", "\\udc00": 1}', "records[0].\\udc00: field name is not valid Unicode (a lone surrogate)"),
    ('{"id": "a", "v": "\\ude00\\ud83d"}', "records[0].v: text is not valid Unicode (\\ude00\\ud83d)"),
], ids=["in-the-key", "nested-value", "field-name", "pair-in-the-wrong-order"])
def test_a_lone_surrogate_rejects_its_record_and_names_the_field(record, error):
    plan = _plan(f'[{record}, {{"id": "good"}}]')
    assert plan.results[0] == {"index": 0, "status": "rejected", "error": error}
    assert plan.results[1]["status"] == "accepted"
    assert [r.key for r in plan.records] == [b"good"]


def test_an_escaped_surrogate_pair_is_just_a_character():
    plan = _plan('{"id": "\\ud83d\\ude00", "v": "\\uD83D\\uDE00"}')
    assert plan.rejected == 0
    assert plan.records[0].key == "\U0001F600".encode()
    assert json.loads(plan.records[0].value)["v"] == "\U0001F600"


def test_a_record_as_deep_as_json_allows_is_refused_at_the_limit_without_recursion():
    deep = "[" * 900 + '"\\ud800"' + "]" * 900
    plan = _plan(f'{{"id": "a", "v": {deep}}}')
    # The record is level 1, v level 2: the first list past the limit is v[0]...[0].
    path = "records[0].v" + "[0]" * (MAX_DEPTH - 1)
    assert plan.results[0]["error"] == f"{path}: nested deeper than {MAX_DEPTH} levels"


def test_nesting_up_to_the_limit_is_accepted():
    at_limit = "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1)  # under the record's own level
    plan = _plan(f'[{{"id": "a", "v": {at_limit}}}, {{"id": "b", "v": [{at_limit}]}}]')
    assert [r["status"] for r in plan.results] == ["accepted", "rejected"]


@pytest.mark.parametrize("number", [
    "9223372036854775807", "9007199254740993", "-9007199254740993", "1180591620717411303424",
    "123456789012345678901234567890.123", "1e+300",
], ids=["int64-max", "2**53+1", "-2**53-1", "2**70", "30-digit-decimal", "a-large-float"])
def test_a_number_of_any_size_is_accepted_and_written_with_its_digits(number):
    # The Sensors pass the raw event bytes (useRawData), so nothing on the way rounds it.
    plan = _plan(f'[{{"id": "a", "v": {{"w": {number}}}}}]')
    assert plan.rejected == 0 and plan.results[0]["status"] == "accepted"
    assert f'"w":{number}'.encode() in plan.records[0].value.replace(b" ", b"")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_the_non_numbers_python_reads_are_not_json(constant):
    with pytest.raises(BadRequest, match=f"body: not valid JSON \\({constant} is not a JSON number"):
        _plan(f'{{"id": "a", "v": {constant}}}')


@pytest.mark.parametrize("topic", [".", ".."])
def test_the_topic_names_kafka_forbids_are_refused(topic):
    with pytest.raises(BadRequest, match="topic: name it in the path"):
        plan_ingest(topic, b'{"id": "a"}', key_field="id", source="s", max_batch=1, now_ms=1)


def test_a_record_over_the_size_limit_is_refused_and_its_neighbours_go():
    big = {"id": "big", "pad": "x" * 1000}
    body = json.dumps([{"id": "a"}, big, {"id": "b"}]).encode()
    plan = plan_ingest("t", body, key_field="id", source="s", max_batch=10, now_ms=1,
                       max_record_bytes=1000)
    assert [r["status"] for r in plan.results] == ["accepted", "rejected", "accepted"]
    error = plan.results[1]["error"]
    assert error.startswith("records[1]: ") and error.endswith("bytes, larger than the limit of 1000 bytes per record")
    assert int(error.split()[1]) > 1000
    assert [r.key for r in plan.records] == [b"a", b"b"]
