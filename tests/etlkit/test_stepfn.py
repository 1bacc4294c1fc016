"""The step functions' shared core without a broker: records out, headers, the answer."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from etlkit.outrecord import json_bytes
from etlkit.stepfn import dead_letter_out, handle_step, kafka_headers, record_out, records_out
from etlkit.steps import DeadLetter, Record

from .strategies import json_values

ET = "etl-event-time"


@pytest.mark.parametrize("headers, timestamp, expected", [
    pytest.param({}, None, (), id="none"),
    pytest.param({}, 5, ((ET, b"5"),), id="event-time-from-timestamp"),
    pytest.param({ET: "7"}, 5, ((ET, b"7"),), id="own-event-time-kept"),
    pytest.param({"etl-source": "api"}, 5, ((ET, b"5"), ("etl-source", b"api")), id="sorted-in"),
    pytest.param({"z": "1", "a": "\u00e9"}, None, (("a", "\u00e9".encode()), ("z", b"1")),
                 id="sorted-utf8"),
])
def test_kafka_headers(headers, timestamp, expected):
    assert kafka_headers(headers, timestamp) == expected


def _reference_record_out(record, topic):
    """record_out as it was first written: the oracle for the faster one."""
    headers = dict(record.headers)
    if record.timestamp is not None:
        headers.setdefault(ET, str(record.timestamp))
    return (topic, json.dumps(record.value, separators=(",", ":")),
            record.key.encode() if record.key is not None else None,
            tuple((k, v.encode()) for k, v in sorted(headers.items())), record.timestamp)


@pytest.mark.parametrize("record", [
    pytest.param(Record(value={"a": 1, "b": [None, 1.5, "\u00e9"]}, key="k",
                        headers={"etl-source": "x"}, timestamp=1717232400123), id="full"),
    pytest.param(Record(value={}), id="bare"),
    pytest.param(Record(value={"n": 2**80}, key="", headers={ET: "1", "b": "2"}, timestamp=9),
                 id="big-int-empty-key-own-time"),
])
def test_record_out_matches_the_reference(record):
    out = record_out(record, "topic")
    topic, text, key, headers, timestamp = _reference_record_out(record, "topic")
    assert (out.topic, out.key, out.headers, out.timestamp_ms) == (topic, key, headers, timestamp)
    assert json.loads(out.value) == json.loads(text)


_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
# Header names around the contract's two, so records with exactly two headers (the fast path of
# kafka_headers) come up as often as records with fewer or more.
_headers = st.dictionaries(st.sampled_from([ET, "etl-source", "a", "etl-z", "\u00e9"]) | _texts,
                           _texts, max_size=4)
_records = st.builds(lambda value, key, headers, timestamp: Record(
    value=value, key=key, headers=headers, timestamp=timestamp),
    st.dictionaries(_texts, json_values, max_size=4), st.none() | _texts, _headers,
    st.none() | st.integers(-2**63, 2**63))


@settings(max_examples=300, deadline=None)
@given(st.lists(_records, max_size=5))
def test_records_out_matches_the_reference_on_any_records(records):
    # The batch loop and the headers' two-name shortcut against the first record_out.
    expected = [_reference_record_out(record, "topic") for record in records]
    assert [(o.topic, o.key, o.headers, o.timestamp_ms) for o in records_out(records, "topic")] \
        == [(topic, key, headers, timestamp) for topic, _text, key, headers, timestamp in expected]
    assert [o.value for o in records_out(records, "topic")] == [json_bytes(r.value) for r in records]
    assert [record_out(r, "topic") for r in records] == records_out(records, "topic")


def test_dead_letter_out():
    out = dead_letter_out(DeadLetter("s", "bad", {"a": 1}, "t", "k", 9), "dlq")
    assert (out.topic, out.key, out.headers, out.timestamp_ms) == ("dlq", b"k", (("etl-source", b"s"),), 9)
    assert json.loads(out.value) == {"step": "s", "reason": "bad", "payload": {"a": 1}, "topic": "t",
                                     "key": "k", "at": 9}


def _event(body, key, ts="2024-06-01 09:00:00.25 +0000 UTC", **extra):
    return {"topic": "in", "key": key, "partition": 0, "body": body, "timestamp": ts,
            "headers": {"etl-source": "test"}, **extra}


def _body(events, **step):
    spec = {"kind": "filter", "name": "keep", "condition": "n > 1", "output": "out",
            "dead_letter": "dlq", **step}
    return json.dumps({"workflow": "w", "version": 1, "step": spec, "events": events}).encode()


def test_handle_step_produces_outputs_and_dead_letters_then_answers():
    produced = []
    answer = handle_step(_body([_event({"n": 1}, "a"), _event({"n": 2}, "b"), _event({"n": "x"}, "c"),
                                _event([1], "d")]), "filter", 42, produced.extend)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"in": 4, "out": 1, "filtered": 1, "dead_lettered": 2,
                                          "emitted": 1}
    kept, *letters = produced
    assert (kept.topic, kept.key, kept.timestamp_ms) == ("out", b"b", 1717232400250)
    assert kept.headers == ((ET, b"1717232400250"), ("etl-source", b"test"))
    assert json.loads(kept.value) == {"n": 2}
    assert [(d.topic, json.loads(d.value)["key"]) for d in letters] == [("dlq", "d"), ("dlq", "c")]


@pytest.mark.parametrize("body, status, error", [
    pytest.param(b"", 400, "body: required", id="empty"),
    pytest.param(b"[1]", 400, "body: must be a JSON object", id="not-an-object"),
    pytest.param(_body([], kind="map"), 400, "step.kind: this function runs 'filter'", id="wrong-kind"),
    pytest.param(_body([_event({"n": 2}, "a")], output=""), 400, "step.output: required", id="no-output"),
    pytest.param(_body([], condition="n >"), 400, "step.condition: invalid expression", id="bad-condition"),
])
def test_handle_step_refusals_name_the_field(body, status, error):
    answer = handle_step(body, "filter", 0, lambda records: None)
    assert answer["statusCode"] == status and json.loads(answer["body"])["error"].startswith(error)
