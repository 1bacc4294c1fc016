"""A step's calls in flight on the real path are its lanes, not one (issue 15 item 2).

Real parts (devstack/realargo/lanes.py): the committed ``orders-raw`` EventSource (six lanes, one
per partition, on one consumer group) and ``orders-paid-only`` Sensor (a trigger per lane) as the
real argo-events v1.9.11 processes, nats JetStream, Apache Kafka 4.1, the local gateway and the
probe function holding each call ``HOLD_MS``, one call at a time per replica. With one trigger
(before lanes) a Sensor has one event in flight (``pkg/eventbus/jetstream/sensor/
trigger_conn.go``: ``Fetch(1)``): a second replica would never see a call while the first works.
Asserted: the outcome, not a timing (the rate ratio is ``make bench``'s, bench/bench_realargo.py).
"""
from __future__ import annotations

import json

import pytest

from devstack.realargo import lanes as ln
from devstack.realargo.lanes import LaneRun
from devstack.realargo.scenario import Call
from tests.fixtures.realargo import require_real_argo

HOLD_MS = 100
BATCHES, PER_BATCH = 3, 4  # per partition


def _call(started: float, message) -> Call:
    """A probe call carrying ``message`` (a batch) as the Sensor posts it."""
    event = {"topic": message.topic, "key": None, "partition": message.partition, "timestamp": "",
             "headers": {k: v.decode() for k, v in message.headers}, "body": json.loads(message.value)}
    return Call(f"c{started}", started, started + 0.1, 200, json.dumps({"event": event}))


def test_the_books_name_a_doubled_a_missing_and_an_out_of_order_batch():
    a, b, c = ln.batch_messages("T", 1, 3, 2)  # three batches of partition 0, in order
    assert ln.books([_call(1, a), _call(2, b), _call(3, c)], ln.expected_keys("T", 1, 3, 2)) == (0, 0, 0)
    # b again after c: two records doubled and a call behind its partition's last; a never came.
    assert ln.books([_call(1, b), _call(2, c), _call(3, b)], ln.expected_keys("T", 1, 3, 2)) == (2, 2, 1)


@pytest.fixture(scope="module")
def lanes(tmp_path_factory):
    from devstack.realstack import real_stack

    require_real_argo(kafka=True)
    run_dir = tmp_path_factory.mktemp("lanes")
    with real_stack(run_dir, kafka_data=run_dir / "kafka") as parts:
        with LaneRun(parts, run_dir, HOLD_MS) as run:
            # Every lane's group member joined and every trigger called once.
            warm = run.phase("W", 1, 1, 1)
            assert (warm.missing, warm.doubled) == (0, 0)
            yield run


@pytest.mark.slow
@pytest.mark.parametrize("replicas", [pytest.param(1, id="one-replica"), pytest.param(2, id="two-replicas")])
def test_each_replica_has_a_call_in_flight_and_every_record_arrives_once_in_partition_order(lanes, replicas):
    lanes.scale(replicas)

    phase = lanes.phase(f"R{replicas}", replicas, BATCHES, PER_BATCH)

    print(f"\n{lanes.partitions} lanes, {replicas} replica(s): {phase.to_dict()}")
    assert phase.calls == lanes.partitions * BATCHES  # one call per Kafka message
    assert (phase.missing, phase.doubled, phase.out_of_order) == (0, 0, 0)
    # One call at a time per replica (WORKER_THREADS=1): the replicas are all busy at once.
    assert phase.in_flight == replicas
