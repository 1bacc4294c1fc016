"""Kafka edge: a producer that answers only once every record is acknowledged by the broker.

I/O module: imports confluent_kafka. Pure modules must not import this one.
"""
from __future__ import annotations

import os
import threading
import time

from confluent_kafka import KafkaError, Producer

from .outrecord import OutRecord


class DeliveryError(RuntimeError):
    """Some records were not acknowledged; the caller must not report them as delivered."""


def bootstrap_servers() -> str:
    servers = os.getenv("KAFKA_BOOTSTRAP")
    if not servers:
        raise RuntimeError("KAFKA_BOOTSTRAP: not set (bootstrap servers of the Kafka cluster)")
    return servers


_lock = threading.Lock()
_producer: Producer | None = None
_topics: tuple[float, frozenset[str]] = (0.0, frozenset())
TOPIC_CACHE_SECONDS = 10.0


def producer() -> Producer:
    """One idempotent producer per process (librdkafka is thread-safe and batches internally)."""
    global _producer
    with _lock:
        if _producer is None:
            _producer = Producer({
                "bootstrap.servers": bootstrap_servers(),
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
            })
        return _producer


def start_producer() -> None:
    """Create the producer now, as the worker starts, not at its first batch (when KAFKA_BOOTSTRAP
    is set). An idempotent producer needs a producer id from the broker before its first record,
    and librdkafka asks for one only some 500 ms after it has connected: that wait would hold up
    the first batch."""
    if os.getenv("KAFKA_BOOTSTRAP"):
        producer()


def stop_producer(timeout: float = 10.0) -> None:
    """Flush and drop the process's producer (the next :func:`producer` makes a new one)."""
    global _producer
    with _lock:
        if _producer is not None:
            _producer.flush(timeout)
            _producer = None


def known_topics(refresh: bool = False) -> frozenset[str]:
    """Topic names on the cluster, cached briefly so every request does not ask the broker."""
    global _topics
    fetched, names = _topics
    if refresh or time.monotonic() - fetched > TOPIC_CACHE_SECONDS or not names:
        # The producer's own connection: no second client (and its sockets) per refresh.
        metadata = producer().list_topics(timeout=10)
        names = frozenset(metadata.topics)
        _topics = (time.monotonic(), names)
    return names


def topic_exists(topic: str) -> bool:
    return topic in known_topics() or topic in known_topics(refresh=True)


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
            produce(rec.topic, rec.value, rec.key, _ANY_PARTITION, on_delivery, None,
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
            p.produce(rec.topic, rec.value, rec.key, _ANY_PARTITION, on_delivery, None,
                      rec.timestamp_ms or 0, list(rec.headers))
            return
        except BufferError:
            continue


# produce()'s positional parameters: topic, value, key, partition, callback, on_delivery (an
# alias of callback), timestamp, headers. -1 is librdkafka's RD_KAFKA_PARTITION_UA: the
# partitioner picks (by key), as when no partition is given.
_ANY_PARTITION = -1


def now_ms() -> int:
    """Wall-clock milliseconds: the event time given to records that carry none."""
    return time.time_ns() // 1_000_000
