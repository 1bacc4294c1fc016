"""The Kafka edge of the audit and the replay: every message of some topics read back untouched,
the committed offsets of the steps' EventSource groups, and messages written to exact partitions.

End offsets and committed offsets come from the controller's reader
(:class:`etlkit.controller.kafka_offsets.KafkaOffsets`): high watermarks of fetch responses (right
on Tansu and Kafka alike, docs: platform.md) and offset fetches that never join a group. The read
here keeps the raw bytes (:class:`devstack.audit.RawMessage`) where the books' reader
(``devstack.pipeline.kafka_edge.TopicReader``) decodes them: a replay re-produces a message
byte for byte, and :func:`etlkit.wire.unbatch` decodes it once for the audit.

I/O module: imports confluent_kafka.
"""
from __future__ import annotations

import time
import uuid
from typing import Mapping, Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from etlkit.controller.kafka_offsets import KafkaOffsets
from etlkit.outrecord import OutRecord

from .audit import RawMessage


def topic_names(bootstrap: str, timeout_s: float = 10.0) -> dict[str, int]:
    """Every topic of the cluster (Kafka's internal ones aside) with its partition count."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise RuntimeError(f"no metadata from {bootstrap} ({exc})") from None
    return {name: len(info.partitions) for name, info in sorted(metadata.topics.items())
            if not name.startswith("__") and info.error is None}


def read_topics(bootstrap: str, topics: Sequence[str], timeout_s: float = 30.0, *, last: int | None = None
                ) -> tuple[dict[str, list[RawMessage]], dict[str, int]]:
    """Every message of ``topics`` from the low watermark (``last``: only the last ``last``
    messages of each partition) to the end offset as of now, and each topic's partition count.
    ``TimeoutError`` naming the partition that did not reach its end."""
    offsets = KafkaOffsets(bootstrap, timeout_s=timeout_s)
    try:
        ends = offsets.end_offsets(list(topics))
    finally:
        offsets.close()
    start = {(t, p): o.low[p] if last is None else max(o.low[p], high - last)
             for t, o in ends.items() for p, high in o.high.items()}
    out: dict[str, list[RawMessage]] = {t: [] for t in topics}
    left = {(t, p): high for t, o in ends.items() for p, high in o.high.items() if high > start[t, p]}
    counts = {t: len(o.high) for t, o in ends.items()}
    if not left:
        return out, counts
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": f"faas-etl-audit-{uuid.uuid4().hex[:8]}",
                       "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    try:
        reader.assign([TopicPartition(t, p, start[t, p]) for t, p in left])
        deadline = time.monotonic() + timeout_s
        while left:
            if time.monotonic() > deadline:
                (topic, partition), high = sorted(left.items())[0]
                raise TimeoutError(f"{topic}[{partition}]: did not read up to offset {high} "
                                   f"within {timeout_s:g}s")
            for msg in reader.consume(1000, timeout=0.2):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise RuntimeError(f"reading {msg.topic()}[{msg.partition()}]: {err}")
                slot = (msg.topic(), msg.partition())
                if slot not in left or msg.offset() >= left[slot]:
                    continue  # written after the audit began: the next audit's
                kind, stamp = msg.timestamp()
                out[slot[0]].append(RawMessage(slot[0], slot[1], msg.offset(), msg.key(), msg.value(),
                                               tuple(msg.headers() or ()), stamp if kind else None))
                if msg.offset() >= left[slot] - 1:
                    del left[slot]
        return out, counts
    finally:
        reader.close()


def committed_offsets(bootstrap: str, groups: Mapping[str, str], partitions: Mapping[str, int],
                      timeout_s: float = 10.0) -> dict[str, dict[int, int | None]]:
    """Per topic, the committed offset of its group (``groups``: topic -> group) on each partition."""
    offsets = KafkaOffsets(bootstrap, timeout_s=timeout_s)
    try:
        return {topic: offsets.committed(group, topic, range(partitions[topic]))
                for topic, group in groups.items()}
    finally:
        offsets.close()


def produce_exact(bootstrap: str, records: Sequence[OutRecord], timeout_s: float = 30.0) -> int:
    """Write ``records``, each to its own ``partition``, in order, and wait for every
    acknowledgement; the number written. ``RuntimeError`` naming the first failure.

    Not :func:`etlkit.kafka_io.produce_all`: that is a function's process-wide producer on
    ``KAFKA_BOOTSTRAP``; a replay writes to the cluster given on its command line, each message
    back to exactly its partition (idempotent, acks=all, one in flight, so order is kept).
    """
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                         "allow.auto.create.topics": False, "message.timeout.ms": int(timeout_s * 1000)})
    failures: list[str] = []

    def on_delivery(err, _msg) -> None:
        if err is not None:
            failures.append(str(err))

    for rec in records:
        if rec.partition is None:
            raise ValueError(f"{rec.topic}: a replayed message needs its partition")
        producer.produce(rec.topic, rec.value, rec.key, rec.partition, on_delivery,
                         timestamp=rec.timestamp_ms or 0, headers=list(rec.headers))
    remaining = producer.flush(timeout_s)
    if remaining or failures:
        raise RuntimeError(f"{remaining} messages unacknowledged, {len(failures)} failed"
                           + (f": {failures[0]}" if failures else ""))
    return len(records)
