"""Kafka edge: a producer that answers only once every record is acknowledged by the broker.

I/O module: imports confluent_kafka. Pure modules must not import this one.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Iterable, Mapping, Sequence

from confluent_kafka import KafkaError, Producer

from . import wire
from .outrecord import OutRecord


class DeliveryError(RuntimeError):
    """Some records were not acknowledged; the caller must not report them as delivered."""


class UnknownTopic(DeliveryError):
    """The topic to write to is not on the cluster (a retry may find it created)."""


def bootstrap_servers() -> str:
    servers = os.getenv("KAFKA_BOOTSTRAP")
    if not servers:
        raise RuntimeError("KAFKA_BOOTSTRAP: not set (bootstrap servers of the Kafka cluster)")
    return servers


_lock = threading.Lock()
_producer: Producer | None = None
_topics: tuple[float, dict[str, int]] = (0.0, {})
TOPIC_CACHE_SECONDS = 10.0


def producer() -> Producer:
    """One idempotent producer per process (librdkafka is thread-safe and batches internally)."""
    global _producer
    with _lock:
        if _producer is None:
            _producer = Producer({"bootstrap.servers": bootstrap_servers(), **PRODUCER_SETTINGS})
        return _producer


# What every function's producer is, but for the broker (bench/bench_pipeline.py's raw loop
# produces with them too, so that it pays what a step pays per message).
PRODUCER_SETTINGS = {
    "enable.idempotence": True,  # acks=all, no duplicates from producer retries
    "linger.ms": 5,
    "compression.type": "lz4",
    "message.timeout.ms": 30000,
    # A report per failed record only: a Python callback per acknowledged record
    # costs about a tenth of producing it, and success is what flush() returning 0
    # without a failure already says.
    "delivery.report.only.error": True,
    # A missing topic must fail, not be auto-created with the broker's defaults.
    "allow.auto.create.topics": False,
}


def start_producer() -> None:
    """Create the producer now, as the worker starts, not at its first batch (when KAFKA_BOOTSTRAP
    is set). An idempotent producer needs a producer id from the broker before its first record,
    and librdkafka asks for one only some 500 ms after it has connected: that wait would hold up
    the first batch."""
    if os.getenv("KAFKA_BOOTSTRAP"):
        producer()


def stop_producer(timeout: float = 10.0) -> None:
    """Flush and drop the process's producer (the next :func:`producer` makes a new one) and
    the topics it saw (the next one may talk to another cluster)."""
    global _producer, _topics
    with _lock:
        if _producer is not None:
            _producer.flush(timeout)
            _producer = None
        _topics = (0.0, {})


def _topic_partitions(refresh: bool = False) -> dict[str, int]:
    """Partition count of each topic on the cluster, from the producer's own metadata (no second
    client, and its sockets, per refresh), cached briefly so every request does not ask the
    broker. A topic still being created (no partitions yet) is left out."""
    global _topics
    fetched, counts = _topics
    if refresh or time.monotonic() - fetched > TOPIC_CACHE_SECONDS or not counts:
        metadata = producer().list_topics(timeout=10)
        counts = {name: len(topic.partitions) for name, topic in metadata.topics.items()
                  if topic.error is None and topic.partitions}
        _topics = (time.monotonic(), counts)
    return counts


def topic_exists(topic: str) -> bool:
    return topic in _topic_partitions() or topic in _topic_partitions(refresh=True)


def partition_count(topic: str) -> int:
    """How many partitions ``topic`` has: the cached count, asked again of the broker when the
    topic is not in the cache (created since). :class:`UnknownTopic` if the cluster has no such
    topic: writing to it would fail (topics are never auto-created), and it may exist soon."""
    count = _topic_partitions().get(topic) or _topic_partitions(refresh=True).get(topic)
    if count is None:
        raise UnknownTopic(f"topic {topic!r}: not on the cluster")
    return count


def produce_batches(records: list[OutRecord], origin: str, *, end: bool = False,
                    end_topics: Sequence[str] = (),
                    end_partitions: Mapping[str, Iterable[int]] | None = None,
                    timeout: float = 30.0) -> None:
    """``records`` as record batches (etlkit/wire.py ``batches``: the ids from ``origin``, the
    end markers as it says), each acknowledged before this returns; DeliveryError otherwise."""
    produce_all(wire.batches(records, origin, partition_count, end=end, end_topics=end_topics,
                             end_partitions=end_partitions), timeout)


def produce_all(records: list[OutRecord], timeout: float = 30.0) -> None:
    """Produce every record and wait until each is acknowledged; raise DeliveryError otherwise."""
    if not records:
        return
    p = producer()
    failures: list[str] = []

    def on_delivery(err: KafkaError | None, _msg) -> None:
        if err is not None:  # the producer reports failures only (delivery.report.only.error)
            failures.append(str(err))

    produce = p.produce
    for rec in records:
        try:
            # Every argument by position: confluent-kafka's keyword parsing costs a third of a
            # microsecond per call. Headers as a list: it refuses a tuple.
            produce(rec.topic, rec.value, rec.key,
                    _ANY_PARTITION if rec.partition is None else rec.partition, on_delivery, None,
                    rec.timestamp_ms or 0, list(rec.headers))
        except BufferError:  # local queue full: let deliveries drain, then go on
            _produce_when_room(p, rec, on_delivery)
    remaining = p.flush(timeout)
    if remaining or failures:
        raise DeliveryError(f"{remaining} records unacknowledged, {len(failures)} failed"
                            + (f": {failures[0]}" if failures else ""))


def _produce_when_room(p: Producer, rec: OutRecord, on_delivery) -> None:
    while True:
        p.poll(0.1)
        try:
            p.produce(rec.topic, rec.value, rec.key,
                      _ANY_PARTITION if rec.partition is None else rec.partition, on_delivery,
                      None, rec.timestamp_ms or 0, list(rec.headers))
            return
        except BufferError:
            continue


# produce()'s positional parameters: topic, value, key, partition, callback, on_delivery (an
# alias of callback), timestamp, headers. -1 is librdkafka's RD_KAFKA_PARTITION_UA: the
# partitioner picks (by key), for a record whose OutRecord.partition is None; a batch always
# names its partition (etlkit/wire.py chose it).
_ANY_PARTITION = -1


def now_ms() -> int:
    """Wall-clock milliseconds: the event time given to records that carry none."""
    return time.time_ns() // 1_000_000
