"""Which offsets a subscription may commit after processing polled messages (no Kafka here)."""
import json
from datetime import datetime, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.argo.dispatch import Dispatcher, Local
from devstack.argo.manifests import load_manifests, plan_subscriptions
from devstack.argo.processor import (Counters, Interrupted, Polled, Prepared, SubscriptionProcessor, progress_of,
                                     seek_points)

from . import factory
from .test_dispatch import FakeHttp, FakeProducer

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)


def _msg(partition, offset, body=None, raw=None):
    value = raw if raw is not None else json.dumps(body or {"id": offset}).encode()
    return Polled("in", partition, offset, str(offset).encode(), value, 1795255200000)


@pytest.mark.parametrize("done, commit, rewind, count", [
    ([True, True, True], {("in", 0): 3}, {}, 3),
    ([True, False, True], {("in", 0): 1}, {("in", 0): 1}, 1),
    ([False, True, True], {}, {("in", 0): 0}, 0),
], ids=["all-done", "gap-stops-the-partition", "first-not-done"])
def test_progress_commits_only_a_contiguous_run(done, commit, rewind, count):
    progress = progress_of([_msg(0, 0), _msg(0, 1), _msg(0, 2)], done)
    assert (progress.commit, progress.rewind, progress.committable) == (commit, rewind, count)


def test_progress_keeps_partitions_apart_and_sorts_by_offset():
    polled = [_msg(1, 5), _msg(0, 8), _msg(0, 7), _msg(1, 6)]
    progress = progress_of(polled, [True, True, False, True])
    assert progress.commit == {("in", 1): 7} and progress.rewind == {("in", 0): 7}


def _processor(tmp_path, http, producer=None, **sensor_options):
    manifests = load_manifests(factory.write(
        tmp_path, factory.kafka_eventsource("src", "in", "g"),
        factory.sensor("s", "src", "in", "fn", dlq_topic="dlq", steps=2, **sensor_options)))
    (sub,) = plan_subscriptions(manifests)
    dispatcher = Dispatcher(http, producer or FakeProducer(), Local("http://gw"), sleep=lambda s: None,
                            rand=lambda: 0.0, now=lambda: NOW)
    counters = Counters()
    return SubscriptionProcessor(sub, dispatcher, counters, lambda: NOW), counters


def test_a_stuck_event_holds_its_partition_but_not_the_others(tmp_path):
    http = FakeHttp(500)
    processor, counters = _processor(tmp_path, http, FakeProducer(fail=True))
    polled = [_msg(0, 0), _msg(0, 1), _msg(1, 0)]
    progress = processor.process(polled, stopping=lambda: False)
    assert progress.rewind == {("in", 0): 0, ("in", 1): 0} and progress.commit == {}
    assert len(http.requests) == 4  # offset 0/1 of partition 0 is never tried: it waits behind 0/0
    assert counters.snapshot()["failed"] == 2


def test_filtered_and_rejected_messages_are_done(tmp_path):
    filters = {"data": [{"path": "body.keep", "type": "bool", "value": ["true"]}]}
    http = FakeHttp(200)
    processor, counters = _processor(tmp_path, http, filters=filters)
    polled = [_msg(0, 0, {"keep": True}), _msg(0, 1, {"keep": False}), _msg(0, 2, raw=b"{broken")]
    progress = processor.process(polled, stopping=lambda: False)
    assert progress.commit == {("in", 0): 3} and len(http.requests) == 1
    snapshot = counters.snapshot()
    assert (snapshot["events_in"], snapshot["filtered"], snapshot["rejected"], snapshot["triggered"]) == (3, 1, 1, 1)


def test_batch_mode_fires_once_for_every_passing_event(tmp_path):
    http = FakeHttp(200)
    processor, counters = _processor(tmp_path, http, batch_size=10)
    progress = processor.process([_msg(0, i) for i in range(4)], stopping=lambda: False)
    assert progress.commit == {("in", 0): 4} and len(http.requests) == 1
    assert len(json.loads(http.requests[0].body)["events"]) == 4


@pytest.mark.parametrize("answer, producer, counts, commit", [
    (200, FakeProducer(), {"triggered": 4, "dead_lettered": 0, "failed": 0, "requests": 1}, 4),
    (500, FakeProducer(), {"triggered": 0, "dead_lettered": 4, "failed": 0, "requests": 2}, 4),
    (500, FakeProducer(fail=True), {"triggered": 0, "dead_lettered": 0, "failed": 4, "requests": 2}, 0),
], ids=["one-answer-delivers-all", "each-dead-lettered", "nothing-done"])
def test_batch_counters_count_every_event_once(tmp_path, answer, producer, counts, commit):
    processor, counters = _processor(tmp_path, FakeHttp(answer), producer, batch_size=10)
    progress = processor.process([_msg(0, i) for i in range(4)], stopping=lambda: False)
    snapshot = counters.snapshot()
    assert {name: snapshot[name] for name in counts} == counts
    assert progress.committable == commit


def test_stopping_leaves_the_rest_uncommitted(tmp_path):
    calls = []
    processor, _ = _processor(tmp_path, FakeHttp(200))
    progress = processor.process([_msg(0, i) for i in range(3)], stopping=lambda: len(calls.append(1) or calls) > 1)
    assert progress.commit == {("in", 0): 1}


def test_an_interrupted_retry_wait_leaves_the_event_uncommitted(tmp_path):
    processor, _ = _processor(tmp_path, FakeHttp(500))

    def interrupted(_seconds):
        raise Interrupted()

    processor.dispatcher.sleep = interrupted
    progress = processor.process([_msg(0, 0), _msg(0, 1)], stopping=lambda: False)
    assert progress.commit == {} and progress.rewind == {("in", 0): 0}


def test_a_dropped_batch_is_polled_again_from_its_start_on_every_partition():
    # Batch N stopped partition 0 at offset 5; batch N+1 (polled meanwhile, now dropped) began at
    # 10 on partition 0 and 100 on partition 1: partition 1 must go back too, or 100.. is skipped.
    unsent = Prepared([_msg(0, 11), _msg(1, 100), _msg(0, 10), _msg(1, 101)], [True] * 4).first_offsets()
    assert unsent == {("in", 0): 10, ("in", 1): 100}
    assert seek_points({("in", 0): 5}, unsent) == {("in", 0): 5, ("in", 1): 100}
    assert seek_points({("in", 2): 7}, {}) == {("in", 2): 7}


def test_prepare_then_deliver_is_what_process_does(tmp_path):
    http = FakeHttp(200)
    processor, counters = _processor(tmp_path, http, batch_size=10)
    prepared = processor.prepare([_msg(0, 0), _msg(0, 1, raw=b"not json"), _msg(1, 0)])
    assert prepared.passing == [0, 2] and http.requests == []  # nothing sent yet
    progress = processor.deliver(prepared)
    assert len(http.requests) == 1 and len(json.loads(http.requests[0].body)["events"]) == 2
    assert progress.commit == {("in", 0): 2, ("in", 1): 1}
    assert counters.snapshot()["rejected"] == 1 and counters.snapshot()["events_in"] == 3


VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 60, 2 ** 60), st.text(max_size=8),
              st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([4.0, 1e-5, 1e17, -0.0, 0.5])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)


def _written(value, style):
    if style == "orjson":  # as the step functions write records
        return orjson.dumps(value)
    return json.dumps(value).encode() if style == "json" else b"{not json"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(VALUES, st.sampled_from(["orjson", "orjson", "json", "broken"])),
                min_size=1, max_size=8))
def test_fast_batches_send_the_bodies_events_would(tmp_path_factory, records):
    processor, _ = _processor(tmp_path_factory.mktemp("raw"), FakeHttp(200), batch_size=10)
    assert processor.fast_batches
    polled = [Polled("in", i % 2, i, f"k{i}".encode(), _written(v, style), 1795255200000 + i,
                     (("etl-source", b"api"), ("b", b"\xff"))) for i, (v, style) in enumerate(records)]
    fast = processor.prepare(polled)
    processor.fast_batches = False
    built = processor.prepare(polled)
    assert fast.passing == built.passing and fast.bodies == built.bodies
    assert list(fast.events) == built.events  # built when asked for, the same events


def test_a_failed_fast_batch_dead_letters_each_event_with_its_own_payload(tmp_path):
    producer = FakeProducer()
    processor, counters = _processor(tmp_path, FakeHttp(500), producer, batch_size=10)
    values = [orjson.dumps({"id": i, "v": 1.5}) for i in range(3)]
    progress = processor.process([Polled("in", 0, i, b"k", v, 1795255200000) for i, v in enumerate(values)],
                                 stopping=lambda: False)
    assert progress.commit == {("in", 0): 3} and counters.snapshot()["dead_lettered"] == 3
    assert [json.loads(r.value)["payload"] for r in producer.records] == [json.loads(v) for v in values]


def test_a_filter_or_another_payload_shape_builds_every_event(tmp_path):
    filtered, _ = _processor(tmp_path / "f", FakeHttp(200), batch_size=10,
                             filters={"data": [{"path": "body.keep", "type": "bool", "value": ["true"]}]})
    shaped, _ = _processor(tmp_path / "s", FakeHttp(200), batch_size=10,
                           payload_template='{"only": {{ toJson .Input }}}')
    assert not filtered.fast_batches and not shaped.fast_batches
