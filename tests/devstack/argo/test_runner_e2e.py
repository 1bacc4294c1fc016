"""The runner against the real local stack: broker, gateway, a recording function.

Each test writes its own manifests (the renderer's shape, see factory.py), its own topics and its
own recorder file, runs a Runner in-process until the expected offsets are committed, stops it,
and asserts exact counts: requests received, dead letters on the topic, committed offsets.
"""
import json
import re

import pytest

from devstack.argo.runner import Runner
from devstack.kafka_tools import consume_all

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


def test_event_reaches_the_function_through_the_sensor(local_stack, record_dir, topics, tmp_path):
    file = unique("reach")
    manifests = factory.write(tmp_path / "m", factory.kafka_eventsource("src", topics["in"], "g-reach"),
                              factory.sensor("reach", "src", topics["in"], RECORDER, query=f"?file={file}"))
    records = [{"id": i, "amount": i * 10} for i in range(6)]
    produce(local_stack.bootstrap, topics["in"], records)
    with _runner(local_stack, manifests, tmp_path) as runner:
        _until_committed(runner, "reach", 6)
    events = events_of(record_dir, file)
    assert sorted(e["body"]["id"] for e in events) == list(range(6))
    assert all(set(e) == EVENT_FIELDS for e in events)
    first = events[0]
    assert first["topic"] == topics["in"] and first["key"] == str(first["body"]["id"])
    assert first["headers"] == {"etl-source": "tests"} and GO_TIME.match(first["timestamp"])
    assert all(not r["batch"] for r in requests_of(record_dir, file))
    assert committed(local_stack.bootstrap, "g-reach", topics["in"], 2) == 6
    assert runner.counters["reach"] == {"events_in": 6, "filtered": 0, "rejected": 0, "triggered": 6,
                                        "requests": 6, "retried": 0, "dead_lettered": 0, "failed": 0,
                                        "committed": 6}
    status = json.loads((tmp_path / "run" / "argo-events-status.json").read_text())
    assert status["sensors"]["reach"]["committed"] == 6 and not status["running"]


def test_filter_drops_what_it_should(local_stack, record_dir, topics, tmp_path):
    file = unique("filter")
    filters = {"data": [{"path": "body.amount", "type": "number", "value": ["10"], "comparator": ">"},
                        {"path": "body.country", "type": "string", "value": ["^FR$", "^DE$"]}]}
    manifests = factory.write(tmp_path / "m", factory.kafka_eventsource("src", topics["in"], "g-filter"),
                              factory.sensor("filtered", "src", topics["in"], RECORDER, filters=filters,
                                             query=f"?file={file}"))
    records = [{"id": 0, "amount": 5, "country": "FR"}, {"id": 1, "amount": 50, "country": "FR"},
               {"id": 2, "amount": 50, "country": "IT"}, {"id": 3, "amount": 11, "country": "DE"},
               {"id": 4, "country": "FR"}, {"id": 5, "amount": 10, "country": "DE"},
               {"id": 6, "amount": "99", "country": "DE"}, {"id": 7, "amount": 100, "country": "FRA"}]
    produce(local_stack.bootstrap, topics["in"], records)
    with _runner(local_stack, manifests, tmp_path) as runner:
        _until_committed(runner, "filtered", 8)
    # 6: numeric text, as gjson's Float() reads it; 7: the regex is anchored, FRA is not FR.
    assert sorted(e["body"]["id"] for e in events_of(record_dir, file)) == [1, 3, 6]
    counters = runner.counters["filtered"]
    assert (counters["filtered"], counters["triggered"], counters["committed"]) == (5, 3, 8)
    assert committed(local_stack.bootstrap, "g-filter", topics["in"], 2) == 8


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


def test_batch_mode_carries_many_events_per_request(local_stack, record_dir, topics, tmp_path):
    file = unique("batch")
    manifests = factory.write(tmp_path / "m", factory.kafka_eventsource("src", topics["in"], "g-batch"),
                              factory.sensor("batched", "src", topics["in"], RECORDER, batch_size=25,
                                             query=f"?file={file}"))
    produce(local_stack.bootstrap, topics["in"], [{"id": i} for i in range(100)])
    with _runner(local_stack, manifests, tmp_path) as runner:
        _until_committed(runner, "batched", 100)
    requests = requests_of(record_dir, file)
    assert sorted(e["body"]["id"] for r in requests for e in r["events"]) == list(range(100))
    assert all(r["batch"] and 1 <= len(r["events"]) <= 25 for r in requests)
    assert len(requests) == runner.counters["batched"]["requests"] < 20


def test_batch_built_while_one_is_in_flight_waits_for_it_and_is_polled_again_after_a_rewind(
        local_stack, record_dir, tmp_path):
    # Batch mode builds batch N+1 while N is in flight. Batch 20..29 fails and its dead letters
    # cannot be written yet (no topic): the batch already built after it must not be sent ahead
    # of it, nor skipped: both are polled again, in order, until the dead-letter topic appears.
    source, dlq, file = unique("argo-in"), unique("argo-dlq-later"), unique("pipelined")
    local_stack.create_topics({source: 1})
    manifests = factory.write(tmp_path / "m", factory.kafka_eventsource("src", source, "g-pipelined"),
                              factory.sensor("pipelined", "src", source, RECORDER, dlq_topic=dlq, steps=1,
                                             batch_size=10, query=f"?file={file}"))
    produce(local_stack.bootstrap, source, [{"id": i, **({"status": 500} if i == 25 else {})} for i in range(60)])
    with _runner(local_stack, manifests, tmp_path) as runner:
        wait_for(lambda: runner.counters["pipelined"]["failed"] >= 20, 30, "batch 20..29 failing twice")
        assert committed(local_stack.bootstrap, "g-pipelined", source, 1) == 20
        local_stack.create_topics({dlq: 1})
        _until_committed(runner, "pipelined", 60)
    assert committed(local_stack.bootstrap, "g-pipelined", source, 1) == 60
    letters = [json.loads(m.value())["payload"]["id"] for m in consume_all(local_stack.bootstrap, dlq, 10)]
    assert sorted(letters) == list(range(20, 30))  # the failed batch, each event on its own
    batches = [[e["body"]["id"] for e in r["events"]] for r in requests_of(record_dir, file)]
    last_failed = max(i for i, ids in enumerate(batches) if 25 in ids)
    assert all(max(ids) < 30 for ids in batches[:last_failed])  # nothing after it went first
    delivered = sorted({i for ids in batches for i in ids})
    assert delivered == list(range(60))
    assert all(ids == sorted(ids) for ids in batches)


def test_calendar_interval_fires_its_trigger(local_stack, record_dir, tmp_path):
    file = unique("tick")
    manifests = factory.write(tmp_path / "m", factory.calendar_eventsource("ticks", "scale", interval="1s"),
                              factory.sensor("ticker", "ticks", "scale", RECORDER, query=f"?file={file}"))
    with _runner(local_stack, manifests, tmp_path) as runner:
        wait_for(lambda: len(requests_of(record_dir, file)) >= 2, 10, "two ticks")
    events = events_of(record_dir, file)
    assert all(set(e) == {"eventTime"} and TICK_TIME.match(e["eventTime"]) for e in events), events
    assert runner.counters["ticker"]["triggered"] == len(events) >= 2
