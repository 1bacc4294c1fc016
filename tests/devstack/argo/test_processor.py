"""Which offsets a subscription may commit after processing polled messages (no Kafka here)."""
import json
from datetime import datetime, timezone

import pytest

from devstack.argo.dispatch import Dispatcher, Local
from devstack.argo.manifests import load_manifests, plan_subscriptions
from devstack.argo.processor import Counters, Interrupted, Polled, SubscriptionProcessor, progress_of

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


def test_each_message_is_one_request_in_offset_order_and_rejected_ones_are_done(tmp_path):
    http = FakeHttp(200)
    processor, counters = _processor(tmp_path, http)
    polled = [_msg(0, 0), _msg(0, 1, raw=b"{broken"), _msg(1, 0), _msg(0, 2)]
    progress = processor.process(polled, stopping=lambda: False)
    assert progress.commit == {("in", 0): 3, ("in", 1): 1}
    assert [json.loads(r.body)["id"] for r in http.requests] == [
        "src:in:etl-kafka-bootstrap.kafka.svc:9092:in:0:0", "src:in:etl-kafka-bootstrap.kafka.svc:9092:in:1:0",
        "src:in:etl-kafka-bootstrap.kafka.svc:9092:in:0:2"]
    snapshot = counters.snapshot()
    assert (snapshot["events_in"], snapshot["rejected"], snapshot["triggered"], snapshot["requests"]) == (4, 1, 3, 3)


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
