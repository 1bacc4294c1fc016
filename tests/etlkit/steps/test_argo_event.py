"""Records from Argo Kafka event data: JSON and base64 bodies, Go timestamps, bad events."""
import base64

import pytest

from etlkit.steps import BadEvent, Record, parse_go_time, record_from_argo_event, records_from_events


@pytest.mark.parametrize("text, millis", [
    pytest.param("2024-06-01 09:00:18 +0000 UTC", 1717232418000, id="utc"),
    pytest.param("2024-06-01 11:00:18.123456789 +0200 CEST", 1717232418123, id="nanos-and-offset"),
    pytest.param("2024-06-01 09:00:18.5 +0000 UTC m=+0.000000001", 1717232418500, id="monotonic-suffix"),
    pytest.param("1969-12-31 23:59:59.9995 +0000 UTC", -1, id="before-epoch-floors"),
    pytest.param(1717232418000, 1717232418000, id="already-ms"),
    pytest.param("yesterday", None, id="not-a-time"),
    pytest.param("2024-13-01 00:00:00 +0000 UTC", None, id="impossible-date"),
    pytest.param(None, None, id="absent"),
])
def test_parse_go_time(text, millis):
    assert parse_go_time(text) == millis


def test_a_json_body_event():
    record = record_from_argo_event({"topic": "t", "key": "k", "partition": 3, "body": {"a": 1},
                                     "timestamp": "2024-06-01 09:00:18 +0000 UTC",
                                     "headers": {"etl-source": "api", "etl-event-time": "5"}})
    assert record == Record(value={"a": 1}, key="k", topic="t", partition=3,
                            headers={"etl-source": "api", "etl-event-time": "5"},
                            timestamp=1717232418000)


def test_a_base64_body_and_an_empty_key():
    body = base64.b64encode(b'{"a": "\xc3\xa9"}').decode()
    record = record_from_argo_event({"topic": "t", "key": "", "body": body})
    assert record.value == {"a": "é"} and record.key is None and record.headers == {}


@pytest.mark.parametrize("event, reason, payload", [
    pytest.param({"body": [1, 2]}, "event.body: must be a JSON object", [1, 2], id="list-body"),
    pytest.param({"body": "{oops"}, "event.body: not JSON", "{oops", id="text-body"),
    pytest.param({"body": base64.b64encode(b"[1]").decode()}, "event.body: must be a JSON object", [1],
                 id="base64-list"),
    pytest.param({"body": None}, "event.body: must be a JSON object", None, id="no-body"),
    pytest.param({"body": {}, "headers": ["x"]}, "event.headers: must be an object", {}, id="headers-list"),
    pytest.param("text", "event: must be an object", "text", id="not-an-object"),
])
def test_bad_events(event, reason, payload):
    with pytest.raises(BadEvent) as caught:
        record_from_argo_event(event)
    assert caught.value.reason == reason and caught.value.payload == payload


def test_records_from_events_splits_good_and_bad():
    records, dead = records_from_events([{"body": {"a": 1}}, {"topic": "t", "key": "k", "body": 5}],
                                        "s", 9)
    assert [r.value for r in records] == [{"a": 1}]
    assert [d.to_dict() for d in dead] == [{"step": "s", "reason": "event.body: must be a JSON object",
                                            "payload": 5, "topic": "t", "key": "k", "at": 9}]
