"""The ingest function end to end: HTTP through the gateway, into a real Kafka topic."""
import uuid

import pytest

from devstack.kafka_tools import consume_all, consume_records
from etlkit import wire


@pytest.fixture
def topic(local_stack):
    name = f"ingest-{uuid.uuid4().hex[:8]}"
    local_stack.create_topics({name: 2})
    return name


def test_a_batch_lands_on_the_topic_with_key_and_headers(local_stack, gateway, topic):
    s, url = gateway
    batch = [{"id": f"o-{i}", "amount": i * 1.5} for i in range(50)]
    resp = s.post(f"{url}/function/ingest/{topic}?key=id&source=shop", json=batch)
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 50 and resp.json()["rejected"] == 0
    records = consume_records(local_stack.bootstrap, topic, 50)
    assert len(records) == 50
    by_key = {r.key: r.value for r in records}
    assert by_key == {r["id"]: r for r in batch}
    assert records[0].headers["etl-source"] == "shop"
    assert int(records[0].headers["etl-event-time"]) == records[0].time


@pytest.mark.parametrize("header, same", [pytest.param("order-77", True, id="idempotency-key"),
                                          pytest.param(None, False, id="none-random")])
def test_a_retried_request_with_an_idempotency_key_writes_the_same_batches(
        local_stack, gateway, topic, header, same):
    s, url = gateway
    headers = {"Idempotency-Key": header} if header else {}
    for _ in range(2):
        resp = s.post(f"{url}/function/ingest/{topic}?key=id", json=[{"id": "a"}, {"id": "b"}],
                      headers=headers)
        assert resp.status_code == 200, resp.text
    records = consume_records(local_stack.bootstrap, topic, 4)
    assert sorted(r.key for r in records) == ["a", "a", "b", "b"]
    first, second = ({r.batch for r in records if r.key == key} for key in ("a", "b"))
    assert (len(first), len(second)) == ((1, 1) if same else (2, 2))


def test_bad_records_are_rejected_and_good_ones_still_land(local_stack, gateway, topic):
    s, url = gateway
    resp = s.post(f"{url}/function/ingest/{topic}?key=id",
                  json={"records": [{"id": "a"}, 7, {"no_id": 1}, {"id": "b"}]})
    assert resp.status_code == 207
    body = resp.json()
    assert (body["accepted"], body["rejected"]) == (2, 2)
    errors = [r["error"] for r in body["results"] if r["status"] == "rejected"]
    assert errors == ["records[1]: must be a JSON object", "records[2].id: key field missing"]
    assert sorted(r.key for r in consume_records(local_stack.bootstrap, topic, 2)) == ["a", "b"]


@pytest.mark.parametrize("path,body,status,field", [
    ("/function/ingest/no-such-topic", b'{"a":1}', 404, "topic"),
    ("/function/ingest/", b'{"a":1}', 400, "topic"),
    ("/function/ingest/t", b'{"a":', 400, "body"),
    ("/function/ingest/t", b'\xff\xfe', 400, "body"),
    ("/function/ingest/t", b'"text"', 400, "body"),
], ids=["unknown-topic", "no-topic", "malformed-json", "invalid-utf8", "not-an-object"])
def test_bad_requests_name_the_field(gateway, path, body, status, field):
    s, url = gateway
    resp = s.post(url + path, data=body)
    assert resp.status_code == status
    assert resp.json()["error"].startswith(field + ":")


def test_records_are_checked_against_the_topic_schema(local_stack, gateway, topic):
    s, url = gateway
    schema = {"type": "object", "required": ["id", "amount"],
              "properties": {"id": {"type": "string"}, "amount": {"type": "number"}}}
    resp = s.post(f"{url}/function/schema-registry/subjects/{topic}/versions", json={"schema": schema})
    assert resp.status_code == 200 and resp.json() == {"version": 1}
    resp = s.post(f"{url}/function/ingest/{topic}?key=id",
                  json=[{"id": "a", "amount": 1}, {"id": "b", "amount": "ten"}, {"id": "c"}])
    assert resp.status_code == 207
    errors = [r.get("error") for r in resp.json()["results"]]
    assert errors[0] is None
    assert errors[1].startswith("records[1].amount:")
    assert errors[2].startswith("records[2]") and "amount" in errors[2]
    assert [r.key for r in consume_records(local_stack.bootstrap, topic, 1)] == ["a"]


def _ends(local_stack, topic: str, messages: int) -> dict[int, list[tuple[int, bool]]]:
    """Per partition, (records, end flag) of each message in offset order."""
    out: dict[int, list[tuple[int, bool]]] = {}
    for message in consume_all(local_stack.bootstrap, topic, messages):
        _batch, entries, end = wire.unbatch(message.value(), message.headers())
        out.setdefault(message.partition(), []).append((len(entries), end))
    return out


@pytest.mark.parametrize("body", [b"", b"[]"], ids=["empty-body", "empty-array"])
def test_end_of_input_alone_ends_every_partition_of_the_topic(local_stack, gateway, topic, body):
    s, url = gateway
    resp = s.post(f"{url}/function/ingest/{topic}?end=true", data=body)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["accepted"], resp.json()["end"]) == (0, True)
    assert _ends(local_stack, topic, 2) == {0: [(0, True)], 1: [(0, True)]}


def test_end_of_input_with_records_ends_each_partition_on_its_last_batch(local_stack, gateway, topic):
    s, url = gateway
    assert s.post(f"{url}/function/ingest/{topic}?key=id", json=[{"id": "x"}]).json()["end"] is False
    resp = s.post(f"{url}/function/ingest/{topic}?key=id&end=true",
                  json=[{"id": f"o-{i}"} for i in range(20)])
    assert resp.status_code == 200 and resp.json()["accepted"] == 20, resp.text
    ends = _ends(local_stack, topic, 3)
    # One message per partition of the second request, the last (only) one of each ends it; the
    # first request's message does not.
    assert sorted(flag for messages in ends.values() for _n, flag in messages) == [False, True, True]
    assert all(messages[-1][1] for messages in ends.values())
    assert sum(n for messages in ends.values() for n, _flag in messages) == 21


def test_a_retried_end_of_input_writes_the_same_batch_ids(local_stack, gateway, topic):
    s, url = gateway
    for _ in range(2):
        resp = s.post(f"{url}/function/ingest/{topic}?end=true", headers={"Idempotency-Key": "end-1"})
        assert resp.status_code == 200, resp.text
    ids = [wire.unbatch(m.value(), m.headers())[0] for m in consume_all(local_stack.bootstrap, topic, 4)]
    assert len(ids) == 4 and len(set(ids)) == 2  # one id per partition, written twice


def test_an_end_flag_that_is_not_true_or_false_is_refused(local_stack, gateway, topic):
    s, url = gateway
    resp = s.post(f"{url}/function/ingest/{topic}?end=yes", data=b"")
    assert resp.status_code == 400 and resp.json()["error"] == "end: true or false, got 'yes'"
    assert consume_all(local_stack.bootstrap, topic, 0, timeout=0) == []
