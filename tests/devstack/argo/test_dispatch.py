"""Trigger firing with small doubles: retries = steps, policy, DLQ with the original payload, batches."""
import json
from datetime import datetime, timezone

import pytest

from devstack.argo import gjson, gotemplate
from devstack.argo.dispatch import (BatchShapeError, Dispatcher, HttpRequest, KafkaRecord, Local,
                                    merge_batch)
from devstack.argo.events import kafka_event
from devstack.argo.params import Param, ParamSource
from devstack.argo.retry import Backoff
from devstack.argo.sensor_spec import HttpAction, KafkaAction, Trigger

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
INVOKE = Param(ParamSource("in", data_template=gotemplate.parse(
    '{"workflow": "wf", "version": 1, "step": {"kind": "t"}, "event": {{ toJson .Input }}}')), None)
DEAD = (Param(ParamSource("in", value="s"), "step"),
        Param(ParamSource("in", data_key=gjson.parse_get_path("body"), use_raw_data=True), "payload"),
        Param(ParamSource("in", data_key=gjson.parse_get_path("key")), "key"))
DLQ = Trigger("dead-letter", ("in",), KafkaAction("kafka:9092", "wf-dlq", DEAD), at_least_once=True)


class FakeHttp:
    """Answers statuses from a script (an Exception entry raises); keeps every request."""

    def __init__(self, *answers):
        self.answers, self.requests = list(answers), []

    def send(self, request: HttpRequest) -> int:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeProducer:
    def __init__(self, fail: bool = False):
        self.fail, self.records = fail, []

    def produce(self, record: KafkaRecord) -> None:
        if self.fail:
            raise RuntimeError("broker down")
        self.records.append(record)


def _event(i: int, body: bytes | None = None):
    return kafka_event(event_source="es", event_name="orders", url="kafka:9092", topic="orders",
                       partition=0, offset=i, key=f"k{i}".encode(),
                       value=body if body is not None else json.dumps({"id": i}).encode(),
                       timestamp_ms=1795255200000, headers=[], json_body=True, now=NOW)


def _trigger(allow=(200,), steps=3, dlq=DLQ, at_least_once=True, url="http://gateway.openfaas:8080/function/step?x=1",
             payload=(INVOKE,), **http):
    return Trigger("call", ("in",), HttpAction(url, "POST", payload, headers=(("Content-Type", "application/json"),), **http),
                   allow, Backoff(steps, 10_000_000, 2.0, 0.0), at_least_once, dlq)


def _dispatcher(http, producer=None):
    sleeps = []
    d = Dispatcher(http, producer or FakeProducer(), Local("http://127.0.0.1:9999"),
                   sleep=sleeps.append, rand=lambda: 0.0, now=lambda: NOW)
    return d, sleeps


def test_success_is_one_request_to_the_local_gateway_without_its_credentials():
    """The gateway asks for none on function calls (OpenFaaS's gateway/main.go), and Argo sends
    none (the trigger has no basicAuth, which the runner refuses)."""
    http = FakeHttp(200)
    dispatcher, sleeps = _dispatcher(http)
    report = dispatcher.fire(_trigger(), "in", [_event(1)])
    assert report.outcomes[0].delivered and (report.requests, report.retried) == (1, 0)
    (request,) = http.requests
    assert request.url == "http://127.0.0.1:9999/function/step?x=1"
    assert request.headers == (("Content-Type", "application/json"),)
    body = json.loads(request.body)
    assert body["event"]["body"] == {"id": 1} and body["step"] == {"kind": "t"}
    assert sleeps == []


def test_500_is_retried_steps_times_then_dead_lettered_with_the_original_payload():
    http, producer = FakeHttp(500), FakeProducer()
    dispatcher, sleeps = _dispatcher(http, producer)
    report = dispatcher.fire(_trigger(steps=3), "in", [_event(7)])
    outcome = report.outcomes[0]
    assert (outcome.delivered, outcome.dead_lettered) == (False, True)
    assert len(http.requests) == 3 and (report.requests, report.retried) == (3, 2)
    assert sleeps == [0.01, 0.02]  # duration, then times factor 2; no jitter
    (record,) = producer.records
    assert record.topic == "wf-dlq" and json.loads(record.value) == {"step": "s", "payload": {"id": 7}, "key": "k7"}


@pytest.mark.parametrize("status", [503, 202, 204], ids=["5xx", "accepted", "no-content"])
def test_status_outside_allow_is_never_success(status):
    dispatcher, _ = _dispatcher(FakeHttp(status))
    outcome = dispatcher.fire(_trigger(allow=(200,)), "in", [_event(1)]).outcomes[0]
    assert not outcome.delivered and outcome.dead_lettered
    assert f"status {status} is not allowed" in outcome.error


def test_without_policy_a_5xx_counts_as_success_as_in_argo():
    dispatcher, _ = _dispatcher(FakeHttp(503))
    report = dispatcher.fire(_trigger(allow=None), "in", [_event(1)])
    assert report.outcomes[0].delivered and report.requests == 1


def test_connection_error_is_a_failed_attempt():
    http = FakeHttp(ConnectionError("refused"), 200)
    dispatcher, _ = _dispatcher(http)
    report = dispatcher.fire(_trigger(), "in", [_event(1)])
    assert report.outcomes[0].delivered and report.requests == 2


@pytest.mark.parametrize("dlq, producer_fails", [(DLQ, True), (None, False)], ids=["dead-letter-fails", "no-dlq"])
def test_event_is_not_done_when_nothing_took_it(dlq, producer_fails):
    dispatcher, _ = _dispatcher(FakeHttp(500), FakeProducer(fail=producer_fails))
    outcome = dispatcher.fire(_trigger(dlq=dlq), "in", [_event(1)]).outcomes[0]
    assert not outcome.done


def test_at_most_once_trigger_is_one_attempt_and_done_whatever_the_answer():
    http, producer = FakeHttp(500), FakeProducer()
    dispatcher, sleeps = _dispatcher(http, producer)
    outcome = dispatcher.fire(_trigger(at_least_once=False, dlq=None), "in", [_event(1)]).outcomes[0]
    assert outcome.done and "500" in outcome.error
    assert len(http.requests) == 1 and sleeps == [] and producer.records == []


def test_unresolvable_payload_fails_every_attempt_then_dead_letters():
    bad = Param(ParamSource("in", data_key=gjson.parse_get_path("body.missing")), "x")
    http = FakeHttp(200)
    dispatcher, _ = _dispatcher(http)
    report = dispatcher.fire(_trigger(payload=(bad,)), "in", [_event(1)])
    assert report.outcomes[0].dead_lettered and http.requests == [] and report.requests == 3


def test_other_hosts_keep_their_url():
    http = FakeHttp(200)
    dispatcher, _ = _dispatcher(http)
    dispatcher.fire(_trigger(url="http://127.0.0.1:1/hook"), "in", [_event(1)])
    (request,) = http.requests
    assert request.url == "http://127.0.0.1:1/hook"


def test_batch_is_one_request_carrying_every_event():
    http = FakeHttp(200)
    dispatcher, _ = _dispatcher(http)
    report = dispatcher.fire(_trigger(), "in", [_event(i) for i in range(5)], batch=True)
    assert all(o.delivered for o in report.outcomes) and report.requests == 1
    body = json.loads(http.requests[0].body)
    assert list(body) == ["workflow", "version", "step", "events"]
    assert [e["body"]["id"] for e in body["events"]] == [0, 1, 2, 3, 4]


def test_failed_batch_dead_letters_each_event_with_its_own_payload():
    http, producer = FakeHttp(500), FakeProducer()
    dispatcher, _ = _dispatcher(http, producer)
    report = dispatcher.fire(_trigger(steps=2), "in", [_event(i) for i in range(3)], batch=True)
    assert [o.dead_lettered for o in report.outcomes] == [True, True, True]
    assert len(http.requests) == 2 and (report.requests, report.retried) == (2, 1)
    assert [json.loads(r.value)["payload"] for r in producer.records] == [{"id": 0}, {"id": 1}, {"id": 2}]


def test_batch_event_whose_payload_does_not_build_goes_straight_to_its_dead_letter():
    only_body = Param(ParamSource("in", data_key=gjson.parse_get_path("body")), None)  # no event key
    http, producer = FakeHttp(200), FakeProducer()
    dispatcher, _ = _dispatcher(http, producer)
    report = dispatcher.fire(_trigger(payload=(only_body,)), "in", [_event(1)], batch=True)
    assert report.outcomes[0].dead_lettered and http.requests == [] and len(producer.records) == 1


def test_merge_batch_replaces_event_in_place():
    merged = merge_batch([b'{"a": 1, "event": {"n": 1}, "z": 2}', b'{"a": 9, "event": {"n": 2}}'])
    assert merged == b'{"a":1,"events":[{"n":1},{"n":2}],"z":2}'


@pytest.mark.parametrize("payload", [b"[1]", b'{"a": 1}', b"not json"], ids=["array", "no-event-key", "not-json"])
def test_merge_batch_refuses_other_shapes(payload):
    with pytest.raises(BatchShapeError):
        merge_batch([payload])
