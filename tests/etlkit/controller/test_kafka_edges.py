"""The Kafka edges on the embedded broker: end offsets from fetch responses, committed offsets
without joining the group, and the state kept in a compacted topic."""
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from etlkit.controller import ControllerRecord, EdgeError, FileStateStore, KafkaStateStore
from etlkit.controller.kafka_offsets import KafkaOffsets
from etlkit.controller.measure import backlog
from etlkit.scheduler import AddedService, ControllerState, OperationState


def _produce_batched(bootstrap, topic, count):
    """Records in big producer batches: what makes the broker's "latest offset" wrong."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50,
                         "allow.auto.create.topics": False})
    for i in range(count):
        producer.produce(topic, value=b"{}", key=str(i).encode())
    assert producer.flush(15) == 0


def test_end_offsets_are_the_true_high_watermarks_even_where_latest_offset_is_not(make_topics):
    topic = f"t-{uuid.uuid4().hex[:6]}"
    bootstrap = make_topics({topic: 3})
    _produce_batched(bootstrap, topic, 1000)
    reader = KafkaOffsets(bootstrap)
    try:
        (ends,) = reader.end_offsets([topic]).values()
    finally:
        reader.close()
    assert sum(ends.high.values()) == 1000
    assert set(ends.high) == {0, 1, 2} and all(v == 0 for v in ends.low.values())


def test_committed_offsets_and_backlog_without_joining_the_group(make_topics):
    topic, group = f"t-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    bootstrap = make_topics({topic: 2})
    _produce_batched(bootstrap, topic, 400)
    member = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                       "enable.auto.commit": False})
    member.commit(offsets=[TopicPartition(topic, 0, 50)], asynchronous=False)
    member.close()
    reader = KafkaOffsets(bootstrap)
    try:
        committed = reader.committed(group, topic, [0, 1])
        ends = reader.end_offsets([topic])[topic]
    finally:
        reader.close()
    assert committed == {0: 50, 1: None}
    assert backlog(committed, ends.high, ends.low) == 400 - 50


def test_a_missing_topic_is_an_edge_error_naming_it(broker):
    reader = KafkaOffsets(broker.bootstrap)
    try:
        with pytest.raises(EdgeError, match="topic nope-.* does not exist") as err:
            reader.end_offsets([f"nope-{uuid.uuid4().hex[:6]}"])
    finally:
        reader.close()
    assert err.value.edge == "kafka"


def test_an_unreachable_broker_is_an_edge_error():
    reader = KafkaOffsets("127.0.0.1:9", timeout_s=1.0)
    try:
        with pytest.raises(EdgeError) as err:
            reader.end_offsets(["orders-raw"])
    finally:
        reader.close()
    assert err.value.edge == "kafka"


def _record(workflow, tick):
    state = ControllerState(operations={"map": OperationState(
        added=(AddedService("map-17", "node-c", float(tick)),), next_index=tick)})
    return ControllerRecord(workflow, state, ticks=tick)


@pytest.mark.parametrize("kind", ["kafka", "file"])
def test_the_latest_record_of_each_workflow_is_read_back(kind, broker, tmp_path):
    topic = f"state-{uuid.uuid4().hex[:6]}"
    store = KafkaStateStore(broker.bootstrap, topic) if kind == "kafka" else FileStateStore(tmp_path)
    assert store.load("orders") is None
    for tick in range(1, 4):
        store.save("orders", _record("orders", tick).dumps())
        store.save("host-metrics", _record("host-metrics", 10 + tick).dumps())
    # A fresh store object is a restarted controller: it has only what was saved.
    again = KafkaStateStore(broker.bootstrap, topic) if kind == "kafka" else FileStateStore(tmp_path)
    assert ControllerRecord.loads(again.load("orders")) == _record("orders", 3)
    assert ControllerRecord.loads(again.load("host-metrics")) == _record("host-metrics", 13)


def test_the_state_topic_is_compacted_and_found_beyond_the_tail(broker):
    topic = f"state-{uuid.uuid4().hex[:6]}"
    store = KafkaStateStore(broker.bootstrap, topic)
    store.TAIL = 5
    store.save("quiet", _record("quiet", 1).dumps())
    for tick in range(20):
        store.save("busy", _record("busy", tick).dumps())
    assert ControllerRecord.loads(store.load("quiet")).ticks == 1
    from confluent_kafka.admin import AdminClient, ConfigResource
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    (future,) = admin.describe_configs([ConfigResource("topic", topic)]).values()
    assert future.result(10)["cleanup.policy"].value == "compact"


def test_a_state_partition_not_in_the_metadata_yet_is_waited_for(broker):
    """The autoscaler read its state topic right after creating it and Tansu's metadata did not
    show the partition yet: librdkafka answered _UNKNOWN_PARTITION and the tick failed. The
    watermarks are asked again until the partition is known (here it appears 0.3 s late)."""
    import threading
    from devstack.broker import create_topics

    topic = f"state-{uuid.uuid4().hex[:6]}"
    late = threading.Timer(0.3, create_topics, (broker.bootstrap, {topic: 1}))
    late.start()
    try:
        assert KafkaStateStore(broker.bootstrap, topic).low_watermark() == 0
    finally:
        late.join()
    # One that never appears is still an error naming the topic, once the timeout has passed.
    with pytest.raises(EdgeError, match=f"state-never-{topic}.*Unknown partition"):
        KafkaStateStore(broker.bootstrap, f"state-never-{topic}", timeout_s=0.5).low_watermark()


def test_end_offsets_count_the_records_the_newest_messages_carry(make_topics):
    """Record batches (etlkit/wire.py) of 100 records, then one plain record: the sample is the
    tail of each partition, decoded as the steps decode it."""
    from etlkit import wire
    from etlkit.controller.measure import records_per_message
    from etlkit.outrecord import out_record

    batched, plain = f"t-{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:6]}"
    bootstrap = make_topics({batched: 1, plain: 1})
    records = [out_record(batched, b"{}", str(i).encode(), (), None, 0) for i in range(600)]
    producer = Producer({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False})
    for m in wire.batches(records, "test", lambda _t: 1, max_records=100):
        producer.produce(m.topic, value=m.value, key=m.key, headers=list(m.headers), partition=0)
    producer.produce(plain, value=b"{}", key=b"k")
    assert producer.flush(15) == 0
    reader = KafkaOffsets(bootstrap, sample=4)
    try:
        ends = reader.end_offsets([batched, plain])
    finally:
        reader.close()
    assert ends[batched].high == {0: 6} and 4 <= ends[batched].sampled_messages <= 6
    assert ends[batched].sampled_records == 100 * ends[batched].sampled_messages
    assert records_per_message(ends[batched].sampled_messages, ends[batched].sampled_records) == 100
    assert (ends[plain].sampled_messages, ends[plain].sampled_records) == (1, 1)
