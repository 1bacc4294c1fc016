"""Reading a run's topics and group offsets on the embedded broker (Tansu quirks included)."""
import json
import uuid
import zlib

from confluent_kafka import Consumer, Producer, TopicPartition

from devstack.pipeline.kafka_edge import GroupOffsets, TopicReader, records_in, messages_on, reset_group
from etlkit import wire
from etlkit.outrecord import out_record


def _topic(local_stack, partitions=3):
    name = f"edge-{uuid.uuid4().hex[:8]}"
    local_stack.create_topics({name: partitions})
    return name


def _produce(bootstrap, topic, n):
    # Batched, as the functions produce: Tansu then reports the start of the last batch as the
    # "latest offset", which is why every count here comes from fetch responses.
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "allow.auto.create.topics": False})
    for i in range(n):
        producer.produce(topic, value=json.dumps({"i": i}).encode(), key=f"k{i}".encode(),
                         headers=[("etl-source", b"edge")])
    assert producer.flush(15) == 0


def _commit(bootstrap, group, topic, offsets):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


def test_records_on_counts_every_batched_record(local_stack):
    topic = _topic(local_stack)
    _produce(local_stack.bootstrap, topic, 40)
    assert messages_on(local_stack.bootstrap, topic, 3) == 40


def test_the_reader_keeps_every_record_decoded_and_knows_when_it_is_at_the_end(local_stack):
    topic = _topic(local_stack)
    _produce(local_stack.bootstrap, topic, 12)
    reader = TopicReader(local_stack.bootstrap, {topic: 3})
    try:
        while not reader.at_end:
            reader.poll(0.1)
        got = reader.messages[topic]
        assert sorted(m.value["i"] for m in got) == list(range(12))
        assert {m.headers["etl-source"] for m in got} == {"edge"} and got[0].key.startswith("k")
        assert reader.messages_on(topic) == 12
    finally:
        reader.close()


def test_the_reader_keeps_the_records_of_batches_and_plain_messages_alike(local_stack):
    topic = _topic(local_stack)
    records = [out_record(topic, b'{"i":%d}' % i, b"k%d" % i, (("etl-source", b"fn"),), 5, None)
               for i in range(10)]
    producer = Producer({"bootstrap.servers": local_stack.bootstrap, "allow.auto.create.topics": False})
    for m in wire.batches(records, "origin", lambda _t: 3):
        producer.produce(m.topic, m.value, m.key, m.partition, headers=list(m.headers))
    producer.produce(topic, b"not json", b"plain", 0)
    assert producer.flush(15) == 0
    reader = TopicReader(local_stack.bootstrap, {topic: 3})
    try:
        reader.poll_to_end()
        got = reader.messages[topic]
        assert sorted(m.value["i"] for m in got if isinstance(m.value, dict)) == list(range(10))
        assert {(m.key, m.partition) for m in got if isinstance(m.value, dict)} == {
            (f"k{i}", zlib.crc32(b"k%d" % i) % 3) for i in range(10)}
        assert [(m.key, m.value) for m in got if not isinstance(m.value, dict)] == [("plain", "not json")]
        assert reader.messages_on(topic) <= 4  # messages: at most one batch per partition, and one
    finally:
        reader.close()
    assert records_in(local_stack.bootstrap, topic, 3) == 11


def test_group_lag_follows_commits_and_a_reset_rewinds_it(local_stack):
    topic, group = _topic(local_stack, 2), f"g-{uuid.uuid4().hex[:8]}"
    _produce(local_stack.bootstrap, topic, 20)
    reader, offsets = TopicReader(local_stack.bootstrap, {topic: 2}, keep=False), GroupOffsets(local_stack.bootstrap)
    try:
        while not reader.at_end:
            reader.poll(0.1)
        high = reader.high_watermarks(topic)
        assert offsets.lag(group, topic, reader).lag == 20  # nothing committed: all of it
        _commit(local_stack.bootstrap, group, topic, {0: high[0], 1: 1})
        lag = offsets.lag(group, topic, reader)
        assert (lag.lag, lag.caught_up) == (high[1] - 1, False)
        _commit(local_stack.bootstrap, group, topic, high)
        assert offsets.lag(group, topic, reader).caught_up
        reset_group(local_stack.bootstrap, group, topic, 2)
        assert offsets.committed(group, topic, 2) == {0: 0, 1: 0}
        assert offsets.lag(group, topic, reader).lag == 20
    finally:
        reader.close()
        offsets.close()
