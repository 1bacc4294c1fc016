"""The runner against the real local stack: broker, gateway, a recording function.

Each test writes its own manifests (the renderer's shape, see factory.py), its own topics and its
own recorder file, runs a Runner in-process until the expected offsets are committed, stops it,
and asserts exact counts: requests received, dead letters on the topic, committed offsets.
"""
import json
import re

import pytest
from confluent_kafka import Producer

from devstack.argo.runner import Runner
from devstack.kafka_tools import consume_all
from etlkit.stepfn import parse_invocation

from . import factory
from .stack_helpers import (HEARTBEAT_MS, RECORDER, SESSION_TIMEOUT_MS, committed, events_of, produce,
                            requests_of, unique, wait_for)

EVENT_FIELDS = {"topic", "key", "partition", "body", "timestamp", "headers"}
GO_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$")
# A calendar tick's time.Now(), with the monotonic reading Go prints (test_conformance.py).
TICK_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC m=\+\d+\.\d{9}$")


@pytest.fixture
def topics(local_stack):
    """A fresh input topic (2 partitions) and dead-letter topic (1) per test."""
    names = {"in": unique("argo-in"), "dlq": unique("argo-dlq")}
    local_stack.create_topics({names["in"]: 2, names["dlq"]: 1})
    return names


def _runner(local_stack, manifests, tmp_path):
    return Runner(manifests, local_stack.bootstrap, local_stack.url, local_stack.credentials,
                  run_dir=tmp_path / "run", dlq_timeout_s=5, session_timeout_ms=SESSION_TIMEOUT_MS,
                  heartbeat_ms=HEARTBEAT_MS)


def _until_committed(runner, sensor, n, timeout=40.0):
    wait_for(lambda: runner.counters[sensor]["committed"] >= n, timeout, f"{n} commits by {sensor}")


def test_each_message_is_one_request_with_its_argo_id_and_event(local_stack, record_dir, topics, tmp_path):
    file = unique("reach")
    manifests = factory.write(tmp_path / "m", factory.kafka_eventsource("src", topics["in"], "g-reach"),
                              factory.sensor("reach", "src", topics["in"], RECORDER, query=f"?file={file}"))
    records = [{"id": i, "amount": i * 10} for i in range(6)]
    produce(local_stack.bootstrap, topics["in"], records)
    with _runner(local_stack, manifests, tmp_path) as runner:
        _until_committed(runner, "reach", 6)
    requests = requests_of(record_dir, file)
    invocations = [parse_invocation(r["raw"].encode(), kind="test") for r in requests]
    assert len(requests) == 6 and all(isinstance(i.event, dict) for i in invocations)  # one event per request
    assert sorted(i.event["body"]["id"] for i in invocations) == list(range(6))
    assert all(set(i.event) == EVENT_FIELDS for i in invocations)
    assert {(i.workflow, i.version) for i in invocations} == {("wf", 1)}
    # The Argo event ID (genUniqueID): <eventsource>:<event>:<first url>:<topic>:<partition>:<offset>.
    ids = {i.identity for i in invocations}
    expected = {f"src:{topics['in']}:{factory.KAFKA}:{topics['in']}:{p}:{o}"
                for p in (0, 1) for o in range(sum(i.event["partition"] == p for i in invocations))}
    assert ids == expected
    first = invocations[0].event
    assert first["topic"] == topics["in"] and first["key"] == str(first["body"]["id"])
    assert first["headers"] == {"etl-source": "tests"} and GO_TIME.match(first["timestamp"])
    assert list(json.loads(requests[0]["raw"])) == ["workflow", "version", "step", "id", "event"]
    assert committed(local_stack.bootstrap, "g-reach", topics["in"], 2) == 6
    assert runner.counters["reach"] == {"events_in": 6, "rejected": 0, "triggered": 6,
                                        "requests": 6, "retried": 0, "dead_lettered": 0, "failed": 0,
                                        "committed": 6}
    status = json.loads((tmp_path / "run" / "argo-events-status.json").read_text())
    assert status["sensors"]["reach"]["committed"] == 6 and not status["running"]


BIG_NUMBERS = b'{"id": 0, "big": 9223372036854775807, "odd": 9007199254740993, ' \
              b'"dec": 123456789012345678901234567890.5, "neg": -0.0, "e": 1E+400}'


def test_the_event_reaches_the_function_with_the_messages_exact_number_texts(
        local_stack, record_dir, topics, tmp_path):
    # dataKey "@this" with useRawData splices the event data's bytes: no float64 on the way.
    file = unique("exact")
    manifests = factory.write(tmp_path / "m", factory.kafka_eventsource("src", topics["in"], "g-exact"),
                              factory.sensor("exact", "src", topics["in"], RECORDER, query=f"?file={file}"))
    producer = Producer({"bootstrap.servers": local_stack.bootstrap})
    producer.produce(topics["in"], value=BIG_NUMBERS, key=b"0", partition=0)
    assert producer.flush(15) == 0
    with _runner(local_stack, manifests, tmp_path) as runner:
        _until_committed(runner, "exact", 1)
    [request] = requests_of(record_dir, file)
    compact = BIG_NUMBERS.decode().replace(": ", ":").replace(", ", ",")
    assert f'"body":{compact},' in request["raw"]


def test_500_is_retried_per_retry_strategy_then_dead_lettered_with_the_original_payload(
        local_stack, record_dir, topics, tmp_path):
    file = unique("retry")
    manifests = factory.write(tmp_path / "m", factory.kafka_eventsource("src", topics["in"], "g-retry"),
                              factory.sensor("retry", "src", topics["in"], RECORDER, dlq_topic=topics["dlq"],
                                             steps=3, duration="20ms", query=f"?file={file}"))
    records = [{"id": 0}, {"id": 1, "status": 500, "amount": 1.5}, {"id": 2}, {"id": 3, "status": 500}]
    produce(local_stack.bootstrap, topics["in"], records)
    with _runner(local_stack, manifests, tmp_path) as runner:
        _until_committed(runner, "retry", 4)
    attempts = {}
    for event in events_of(record_dir, file):
        attempts[event["body"]["id"]] = attempts.get(event["body"]["id"], 0) + 1
    assert attempts == {0: 1, 1: 3, 2: 1, 3: 3}  # steps: 3 means three attempts
    letters = [json.loads(m.value()) for m in consume_all(local_stack.bootstrap, topics["dlq"], 2)]
    assert sorted(((l["key"], l["payload"]) for l in letters), key=lambda pair: pair[0]) == \
        [("1", records[1]), ("3", records[3])]
    assert all(l["topic"] == topics["in"] and l["step"] == "retry" and l["reason"] == "gave up" for l in letters)
    counters = runner.counters["retry"]
    assert {k: counters[k] for k in ("triggered", "requests", "retried", "dead_lettered", "failed", "committed")} == \
        {"triggered": 2, "requests": 8, "retried": 4, "dead_lettered": 2, "failed": 0, "committed": 4}
    assert committed(local_stack.bootstrap, "g-retry", topics["in"], 2) == 4


def test_a_status_outside_policy_allow_is_never_success(local_stack, record_dir, topics, tmp_path):
    """Two Sensors read the same event (a group each): one with allow [200], one without policy."""
    strict, loose = unique("strict"), unique("loose")
    manifests = factory.write(
        tmp_path / "m", factory.kafka_eventsource("src", topics["in"], "g-policy"),
        factory.sensor("strict", "src", topics["in"], RECORDER, dlq_topic=topics["dlq"], steps=2,
                       allow=[200], query=f"?file={strict}"),
        factory.sensor("loose", "src", topics["in"], RECORDER, steps=2, allow=None, query=f"?file={loose}"))
    records = [{"id": 0, "status": 503}, {"id": 1, "status": 202}, {"id": 2}]
    produce(local_stack.bootstrap, topics["in"], records)
    with _runner(local_stack, manifests, tmp_path) as runner:
        _until_committed(runner, "strict", 3)
        _until_committed(runner, "loose", 3)
    strict_counts, loose_counts = runner.counters["strict"], runner.counters["loose"]
    assert (strict_counts["triggered"], strict_counts["dead_lettered"], strict_counts["requests"]) == (1, 2, 5)
    # Argo without a policy: the 503 and the 202 are "success", one request each.
    assert (loose_counts["triggered"], loose_counts["dead_lettered"], loose_counts["requests"]) == (3, 0, 3)
    assert len(events_of(record_dir, loose)) == 3
    letters = consume_all(local_stack.bootstrap, topics["dlq"], 2)
    assert sorted(json.loads(m.value())["payload"]["id"] for m in letters) == [0, 1]
    assert committed(local_stack.bootstrap, "g-policy.strict", topics["in"], 2) == 3
    assert committed(local_stack.bootstrap, "g-policy.loose", topics["in"], 2) == 3


def test_nothing_is_committed_while_the_dead_letter_cannot_be_written(local_stack, record_dir, tmp_path):
    source, dlq, file = unique("argo-in"), unique("argo-dlq-later"), unique("blocked")
    local_stack.create_topics({source: 1})  # the dead-letter topic does not exist yet
    manifests = factory.write(tmp_path / "m", factory.kafka_eventsource("src", source, "g-blocked"),
                              factory.sensor("blocked", "src", source, RECORDER, dlq_topic=dlq, steps=2,
                                             query=f"?file={file}"))
    produce(local_stack.bootstrap, source, [{"id": 0, "status": 500}, {"id": 1}])
    with _runner(local_stack, manifests, tmp_path) as runner:
        wait_for(lambda: runner.counters["blocked"]["failed"] >= 2, 30, "two failed deliveries")
        assert committed(local_stack.bootstrap, "g-blocked", source, 1) == 0
        assert all(e["body"]["id"] == 0 for e in events_of(record_dir, file))  # record 1 waits behind 0
        local_stack.create_topics({dlq: 1})
        _until_committed(runner, "blocked", 2)
    assert [json.loads(m.value())["payload"] for m in consume_all(local_stack.bootstrap, dlq, 1)] == \
        [{"id": 0, "status": 500}]
    assert committed(local_stack.bootstrap, "g-blocked", source, 1) == 2
    assert [e["body"]["id"] for e in events_of(record_dir, file)].count(1) == 1


def test_calendar_interval_fires_its_trigger(local_stack, record_dir, tmp_path):
    file = unique("tick")
    manifests = factory.write(tmp_path / "m", factory.calendar_eventsource("ticks", "scale", interval="1s"),
                              factory.sensor("ticker", "ticks", "scale", RECORDER, tick=True,
                                             query=f"?file={file}"))
    with _runner(local_stack, manifests, tmp_path) as runner:
        wait_for(lambda: len(requests_of(record_dir, file)) >= 2, 10, "two ticks")
    events = events_of(record_dir, file)
    assert all(set(e) == {"eventTime"} and TICK_TIME.match(e["eventTime"]) for e in events), events
    assert runner.counters["ticker"]["triggered"] == len(events) >= 2
