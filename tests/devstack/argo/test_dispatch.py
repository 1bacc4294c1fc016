"""Trigger firing with small doubles: one request per event, retries = steps, policy, DLQ with the
original payload."""
import json
from datetime import datetime, timezone

import pytest

from devstack.argo import gjson
from devstack.argo.dispatch import Dispatcher, HttpRequest, KafkaRecord, Local
from devstack.argo.events import kafka_event
from devstack.argo.params import Param, ParamSource
from devstack.argo.retry import Backoff
from devstack.argo.sensor_spec import HttpAction, KafkaAction, Trigger

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
INVOKE = (Param(ParamSource("in", value="wf"), "workflow"), Param(ParamSource("in", value="1"), "version"),
          Param(ParamSource("in", value='{"kind":"t"}'), "step"), Param(ParamSource("in", context_key="id"), "id"),
          Param(ParamSource("in", data_key=gjson.parse_get_path("@this"), use_raw_data=True), "event"))
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
             payload=INVOKE, **http):
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
    report = dispatcher.fire(_trigger(), "in", _event(1))
    assert report.outcome.delivered and (report.requests, report.retried) == (1, 0)
    (request,) = http.requests
    assert request.url == "http://127.0.0.1:9999/function/step?x=1"
    assert request.headers == (("Content-Type", "application/json"),)
    body = json.loads(request.body)
    assert body == {"workflow": "wf", "version": "1", "step": '{"kind":"t"}', "id": "es:orders:kafka:9092:orders:0:1",
                    "event": {"topic": "orders", "key": "k1", "partition": 0, "body": {"id": 1},
                              "timestamp": "2026-11-21 10:00:00 +0000 UTC", "headers": {}}}
    assert sleeps == []


def test_500_is_retried_steps_times_then_dead_lettered_with_the_original_payload():
    http, producer = FakeHttp(500), FakeProducer()
    dispatcher, sleeps = _dispatcher(http, producer)
    report = dispatcher.fire(_trigger(steps=3), "in", _event(7))
    outcome = report.outcome
    assert (outcome.delivered, outcome.dead_lettered) == (False, True)
    assert len(http.requests) == 3 and (report.requests, report.retried) == (3, 2)
    assert sleeps == [0.01, 0.02]  # duration, then times factor 2; no jitter
    (record,) = producer.records
    assert record.topic == "wf-dlq" and json.loads(record.value) == {"step": "s", "payload": {"id": 7}, "key": "k7"}


@pytest.mark.parametrize("status", [503, 202, 204], ids=["5xx", "accepted", "no-content"])
def test_status_outside_allow_is_never_success(status):
    dispatcher, _ = _dispatcher(FakeHttp(status))
    outcome = dispatcher.fire(_trigger(allow=(200,)), "in", _event(1)).outcome
    assert not outcome.delivered and outcome.dead_lettered
    assert f"status {status} is not allowed" in outcome.error


def test_without_policy_a_5xx_counts_as_success_as_in_argo():
    dispatcher, _ = _dispatcher(FakeHttp(503))
    report = dispatcher.fire(_trigger(allow=None), "in", _event(1))
    assert report.outcome.delivered and report.requests == 1


def test_connection_error_is_a_failed_attempt():
    http = FakeHttp(ConnectionError("refused"), 200)
    dispatcher, _ = _dispatcher(http)
    report = dispatcher.fire(_trigger(), "in", _event(1))
    assert report.outcome.delivered and report.requests == 2


@pytest.mark.parametrize("dlq, producer_fails", [(DLQ, True), (None, False)], ids=["dead-letter-fails", "no-dlq"])
def test_event_is_not_done_when_nothing_took_it(dlq, producer_fails):
    dispatcher, _ = _dispatcher(FakeHttp(500), FakeProducer(fail=producer_fails))
    outcome = dispatcher.fire(_trigger(dlq=dlq), "in", _event(1)).outcome
    assert not outcome.done


def test_at_most_once_trigger_is_one_attempt_and_done_whatever_the_answer():
    http, producer = FakeHttp(500), FakeProducer()
    dispatcher, sleeps = _dispatcher(http, producer)
    outcome = dispatcher.fire(_trigger(at_least_once=False, dlq=None), "in", _event(1)).outcome
    assert outcome.done and "500" in outcome.error
    assert len(http.requests) == 1 and sleeps == [] and producer.records == []


def test_unresolvable_payload_fails_every_attempt_then_dead_letters():
    bad = Param(ParamSource("in", data_key=gjson.parse_get_path("body.missing")), "x")
    http = FakeHttp(200)
    dispatcher, _ = _dispatcher(http)
    report = dispatcher.fire(_trigger(payload=(bad,)), "in", _event(1))
    assert report.outcome.dead_lettered and http.requests == [] and report.requests == 3


def test_other_hosts_keep_their_url():
    http = FakeHttp(200)
    dispatcher, _ = _dispatcher(http)
    dispatcher.fire(_trigger(url="http://127.0.0.1:1/hook"), "in", _event(1))
    (request,) = http.requests
    assert request.url == "http://127.0.0.1:1/hook"


@pytest.mark.parametrize("number", ["9223372036854775807", str(2 ** 53 + 1), "123456789012345678901234567890.5",
                                    "-0.0", "1.0", "1E+400", "1e-7"],
                         ids=["int64-max", "2**53+1", "30-digit-decimal", "negative-zero", "integral-float",
                              "past-float64", "exponent"])
def test_the_event_is_spliced_with_the_messages_number_texts(number):
    # useRawData on "@this": the event data's bytes as Argo carries them, numbers never float64.
    http = FakeHttp(200)
    dispatcher, _ = _dispatcher(http)
    dispatcher.fire(_trigger(), "in", _event(1, f'{{"n": {number}, "m": [{number}]}}'.encode()))
    (request,) = http.requests
    assert f'"body":{{"n":{number},"m":[{number}]}},'.encode() in request.body
