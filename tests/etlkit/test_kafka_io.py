"""The Kafka edge: every record acknowledged or a DeliveryError; the producer made early."""
import pytest

from devstack.broker import EmbeddedBroker, create_topics
from devstack.kafka_tools import consume_all, consume_records
from etlkit import kafka_io, wire
from etlkit.outrecord import OutRecord, out_record


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory):
    with EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "broker.log") as broker:
        create_topics(broker.bootstrap, {"out": 2})
        yield broker.bootstrap


@pytest.fixture
def fresh_producer(monkeypatch, bootstrap):
    monkeypatch.setenv("KAFKA_BOOTSTRAP", bootstrap)
    monkeypatch.setattr(kafka_io, "_producer", None)
    yield
    kafka_io.stop_producer(5)


def test_records_arrive_as_laid_out(fresh_producer, bootstrap):
    kafka_io.produce_all([OutRecord("out", b'{"a":1}', b"k", (("etl-event-time", b"5"),), 5),
                          OutRecord("out", b"{}")])
    got = sorted(consume_all(bootstrap, "out", 2), key=lambda m: m.value())
    assert [(m.value(), m.key(), m.headers(), m.timestamp()[1]) for m in got[:1]] == [
        (b'{"a":1}', b"k", [("etl-event-time", b"5")], 5)]
    assert got[1].value() == b"{}" and got[1].key() is None and got[1].headers() is None


def test_a_record_with_a_partition_goes_there(fresh_producer, bootstrap):
    create_topics(bootstrap, {"pinned": 3})
    kafka_io.produce_all([OutRecord("pinned", b'{"p":%d}' % p, None, (), None, p) for p in (2, 0, 2)])
    got = consume_all(bootstrap, "pinned", 3)
    assert sorted((m.partition(), m.value()) for m in got) == [
        (0, b'{"p":0}'), (2, b'{"p":2}'), (2, b'{"p":2}')]


def test_partition_count_asks_again_for_a_topic_created_since(fresh_producer, bootstrap):
    assert kafka_io.partition_count("out") == 2
    create_topics(bootstrap, {"later": 5})
    assert kafka_io.partition_count("later") == 5  # not in the cache yet: asked again
    with pytest.raises(kafka_io.UnknownTopic, match="'no-such-topic'"):
        kafka_io.partition_count("no-such-topic")


def test_produce_batches_writes_batches_a_reader_unbatches(fresh_producer, bootstrap):
    create_topics(bootstrap, {"batched": 3})
    records = [out_record("batched", b'{"i":%d}' % i, b"k%d" % i, (("etl-source", b"s"),), 100 + i,
                          i % 2) for i in range(7)]
    kafka_io.produce_batches(records, "origin", end=True, end_topics=["batched"])
    got = consume_records(bootstrap, "batched", 7)
    assert sorted((r.partition, r.value["i"], r.key, r.time) for r in got) == sorted(
        (i % 2, i, f"k{i}", 100 + i) for i in range(7))
    assert {r.batch for r in got} == {wire.batch_id("origin", "batched", p, 0) for p in (0, 1)}
    assert all(r.end for r in got)  # one batch per partition: each is its partition's last
    ends = [m.partition() for m in consume_all(bootstrap, "batched", 3)
            if wire.unbatch(m.value(), m.headers())[2]]
    assert sorted(ends) == [0, 1, 2]  # partition 2 had no record: an empty end batch


def test_start_producer_makes_the_producer_only_with_a_broker(monkeypatch, fresh_producer, bootstrap):
    monkeypatch.delenv("KAFKA_BOOTSTRAP")
    kafka_io.start_producer()
    assert kafka_io._producer is None
    monkeypatch.setenv("KAFKA_BOOTSTRAP", bootstrap)
    kafka_io.start_producer()
    made = kafka_io._producer
    assert made is not None and kafka_io.producer() is made
    kafka_io.stop_producer()
    assert kafka_io._producer is None and kafka_io.producer() is not made


class _FullThenFailing:
    """A producer double: the local queue is full once, then every delivery fails."""

    def __init__(self):
        self.full, self.polls, self.sent = True, 0, []

    def produce(self, topic, value, key, partition, callback, on_delivery, timestamp, headers):
        # confluent-kafka's positional order (kafka_io passes every argument by position)
        if self.full:
            self.full = False
            raise BufferError("queue full")
        self.sent.append((topic, value, key, partition, on_delivery, headers, timestamp))
        callback(RuntimeError("broker said no"), None)

    def poll(self, timeout):
        self.polls += 1

    def flush(self, timeout):
        return 0


def test_a_full_queue_waits_and_failures_raise(monkeypatch):
    double = _FullThenFailing()
    monkeypatch.setattr(kafka_io, "_producer", double)
    with pytest.raises(kafka_io.DeliveryError, match="0 records unacknowledged, 2 failed: broker said no"):
        kafka_io.produce_all([OutRecord("t", b"1", None, (("h", b"v"),)), OutRecord("t", b"2")])
    assert double.polls == 1
    assert double.sent == [("t", b"1", None, -1, None, [("h", b"v")], 0), ("t", b"2", None, -1, None, [], 0)]
