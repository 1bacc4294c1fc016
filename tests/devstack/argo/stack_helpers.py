"""Helpers for the runner's end-to-end tests: topics, records in, records and offsets out."""
from __future__ import annotations

import json
import pathlib
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

RECORDER = "argo-recorder"
# Consumer-group timing for the runners these tests start. Tansu answers a consumer's first join
# after about half the session timeout (3 s with the runner's default 6000 ms, every test paying
# it once per runner); 2000 ms makes that ~1.5 s. The heartbeat stays well inside the session
# (a quarter of it), so a busy machine does not lose a member and redeliver. A runner whose
# heartbeat stays at its default 1000 ms (started by the fleet or the reconciler, which take no
# heartbeat option) gets 3000 ms: three heartbeats per session, join ~2 s.
SESSION_TIMEOUT_MS, HEARTBEAT_MS = 2000, 500
DEFAULT_HEARTBEAT_SESSION_TIMEOUT_MS = 3000


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def produce(bootstrap: str, topic: str, records: list[dict], headers: dict | None = None) -> None:
    """Records keyed by their ``id``, acknowledged before returning."""
    producer = Producer({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False})
    for record in records:
        producer.produce(topic, value=json.dumps(record).encode(), key=str(record["id"]).encode(),
                         headers=list((headers or {"etl-source": "tests"}).items()))
    assert producer.flush(15) == 0, "records not acknowledged"


# Answers of a group coordinator that is moving or still loading the group: ask again.
_COORDINATOR_MOVING = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                       KafkaError.COORDINATOR_NOT_AVAILABLE}


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    """Sum of the group's committed offsets on ``topic`` (a partition without one counts 0).

    A retriable answer (Apache Kafka's NOT_COORDINATOR while the group's coordinator is still
    loading it, seen once in a full run) counts 0 too: callers poll until the sum they wait for."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        try:
            offsets = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() in _COORDINATOR_MOVING:
                return 0
            raise
        return sum(max(tp.offset, 0) for tp in offsets)
    finally:
        consumer.close()


def requests_of(record_dir: pathlib.Path, name: str) -> list[dict]:
    """Every request the recorder got under ``?file=name``."""
    path = record_dir / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def events_of(record_dir: pathlib.Path, name: str) -> list[dict]:
    """The event data of each request (one per Kafka message), in the order they came."""
    return [json.loads(request["raw"])["event"] for request in requests_of(record_dir, name)]


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll until ``predicate()`` holds; fail with ``what`` when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
