"""The step functions' shared core without a broker: records out, headers, the answer."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from etlkit import wire
from etlkit.outrecord import json_bytes, out_record
from etlkit.stepfn import dead_letter_out, handle_step, kafka_headers, record_out, records_out
from etlkit.steps import DeadLetter, Record

from .batch_sink import GO_TIME, BatchSink, event_of
from .strategies import json_values

ET = "etl-event-time"


@pytest.mark.parametrize("headers, expected", [
    pytest.param({}, (), id="none"),
    pytest.param({"etl-source": "api"}, (("etl-source", b"api"),), id="one"),
    pytest.param({ET: "7", "etl-source": "api"}, ((ET, b"7"), ("etl-source", b"api")), id="own-event-time-kept"),
    pytest.param({"z": "1", "a": "\u00e9"}, (("a", "\u00e9".encode()), ("z", b"1")), id="sorted-utf8"),
])
def test_kafka_headers(headers, expected):
    assert kafka_headers(headers) == expected


def _reference_record_out(record, topic):
    """record_out as it was first written: the oracle for the faster one."""
    return (topic, json.dumps(record.value, separators=(",", ":")),
            record.key.encode() if record.key is not None else None,
            tuple((k, v.encode()) for k, v in sorted(record.headers.items())), record.timestamp)


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
# Header names around the contract's, so records with exactly one header (the fast path of
# kafka_headers) come up as often as records with more or none.
_headers = st.dictionaries(st.sampled_from([ET, "etl-source", "a", "etl-z", "\u00e9"]) | _texts,
                           _texts, max_size=4)
_records = st.builds(lambda value, key, headers, timestamp: Record(
    value=value, key=key, headers=headers, timestamp=timestamp),
    st.dictionaries(_texts, json_values, max_size=4), st.none() | _texts, _headers,
    st.none() | st.integers(-2**63, 2**63))


@settings(max_examples=300, deadline=None)
@given(st.lists(_records, max_size=5))
def test_records_out_matches_the_reference_on_any_records(records):
    # The batch loop and the headers' one-name shortcut against the first record_out.
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


def _batch(values, partition=0, topic="in", end=False, origin="up"):
    """The Argo event of one batch message holding ``values`` (keys "k0", "k1", ...), as an
    upstream function wrote it to ``partition``."""
    records = [out_record(topic, json.dumps(v).encode(), f"k{i}".encode(), (("etl-source", b"test"),),
                          1717232400250 + i, partition) for i, v in enumerate(values)]
    (message,) = wire.batches(records, origin, lambda _t: partition + 1, end=end,
                              end_partitions={topic: [partition]})
    return event_of(message)


def _body(event, id="es:ev:broker:in:0:7", **step):
    spec = {"kind": "filter", "name": "keep", "condition": "n > 1", "output": "out",
            "dead_letter": "dlq", **step}
    return json.dumps({"workflow": "w", "version": 1, "step": spec, "id": id, "event": event}).encode()


def test_handle_step_produces_outputs_and_dead_letters_as_batches_then_answers():
    sink = BatchSink({"out": 3, "dlq": 1})
    event = _batch([{"n": 1}, {"n": 2}, {"n": "x"}, [1]], partition=2)
    answer = handle_step(_body(event), "filter", 42, sink)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"in": 4, "out": 1, "filtered": 1, "dead_lettered": 2,
                                          "emitted": 1}
    (kept,) = sink.records("out")
    assert (kept["key"], kept["time"], kept["value"], kept["partition"]) == ("k1", 1717232400251, {"n": 2}, 2)
    assert kept["headers"] == {ET: "1717232400251", "etl-source": "test"}  # as a plain record
    assert sorted(d["value"]["key"] for d in sink.records("dlq")) == ["k2", "k3"]
    # The batch ids derive from the input batch's id and the step: the input's identity wins
    # over the Argo event id.
    origin = f"{event['headers'][wire.BATCH_HEADER]}/keep"
    assert sink.origins == [origin]
    assert {(m.topic, m.headers[0][1].decode()) for m in sink.messages} == {
        ("out", wire.batch_id(origin, "out", 2, 0)), ("dlq", wire.batch_id(origin, "dlq", 0, 0))}
    assert sink.ends("out") == []


def test_a_redelivered_input_writes_the_same_batches():
    body = _body(_batch([{"n": 5}, {"n": 6}]))
    first, again = BatchSink(2), BatchSink(2)
    handle_step(body, "filter", 1, first)
    handle_step(body, "filter", 2, again)
    assert first.messages == again.messages and len(first.messages) == 1


@pytest.mark.parametrize("id, same", [
    pytest.param("es:ev:broker:in:0:7", True, id="argo-event-id"),
    pytest.param(None, False, id="no-identity-random"),
])
def test_a_plain_record_takes_its_identity_from_the_argo_event_id(id, same):
    plain = {"topic": "in", "key": "a", "partition": 1, "body": {"n": 3}, "timestamp": GO_TIME,
             "headers": {}}
    first, again = BatchSink(2), BatchSink(2)
    handle_step(_body(plain, id=id), "filter", 1, first)
    handle_step(_body(plain, id=id), "filter", 1, again)
    assert [r["partition"] for r in first.records("out")] == [1]
    assert (first.messages == again.messages) is same
    if same:
        assert first.origins == [f"{id}/keep"]


@pytest.mark.parametrize("values", [pytest.param([{"n": 5}], id="with-records"),
                                    pytest.param([], id="end-only")])
def test_an_ended_input_partition_ends_only_the_output_partition_it_feeds(values):
    sink = BatchSink({"out": 3, "dlq": 1})
    answer = handle_step(_body(_batch(values, partition=4, end=True)), "filter", 1, sink)
    assert answer["statusCode"] == 200
    assert sink.ends("out") == [1]  # 4 modulo 3
    assert sink.ends("dlq") == []
    assert [r["value"] for r in sink.records("out")] == values


@pytest.mark.parametrize("body, status, error", [
    pytest.param(b"", 400, "body: required", id="empty"),
    pytest.param(b"[1]", 400, "body: must be a JSON object", id="not-an-object"),
    pytest.param(_body({}, kind="map"), 400, "step.kind: this function runs 'filter'", id="wrong-kind"),
    pytest.param(_body(_batch([{"n": 2}]), output=""), 400, "step.output: required", id="no-output"),
    pytest.param(_body({}, condition="n >"), 400, "step.condition: invalid expression", id="bad-condition"),
    pytest.param(json.dumps({"step": {"kind": "filter"}, "events": []}).encode(), 400,
                 "event: required", id="events-envelope-gone"),
    pytest.param(_body({}, id=5), 400, "id: must be text", id="id-not-text"),
])
def test_handle_step_refusals_name_the_field(body, status, error):
    answer = handle_step(body, "filter", 0, BatchSink())
    assert answer["statusCode"] == status and json.loads(answer["body"])["error"].startswith(error)
