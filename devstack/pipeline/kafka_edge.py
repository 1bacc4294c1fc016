"""The workflow run's Kafka reads: every record of the workflow's topics, high watermarks from
fetch responses, the committed offsets of the runner's groups, and resetting a group (replay).

:class:`TopicReader` is assigned every partition (no group join, so no Tansu join delay) and
reads in the background of each :meth:`~TopicReader.poll`; a partition counts as read to its end
once the broker reported end-of-partition after its last record. With ``keep=False`` it starts
at the end of each partition and keeps nothing, only the high watermarks (what a benchmark of a
million records needs).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from confluent_kafka import (OFFSET_END, Consumer, ConsumerGroupTopicPartitions, KafkaError,
                             TopicPartition)
from confluent_kafka.admin import AdminClient

from etlkit import wire
from etlkit.controller.kafka_offsets import KafkaOffsets

from .offsets import GroupLag, group_lag


@dataclass(frozen=True)
class Message:
    """One record as the books read it: JSON value decoded (text when it is not JSON), with the
    partition and offset of the message that carried it (a batch's records share them)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: Any
    headers: Mapping[str, str]


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def messages_of(msg) -> list[Message]:
    """The records of one Kafka message: a batch's each (etlkit/wire.py ``unbatch``), or the
    plain record (its value as text when it is not JSON)."""
    raw = msg.value()
    headers = {k: _text(v) or "" for k, v in (msg.headers() or ())}
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    try:
        _batch, entries, _end = wire.unbatch(raw, headers, msg.key())
    except ValueError:  # not JSON (or not the batch its header says): kept as its text
        return [Message(topic, partition, offset, _text(msg.key()), _text(raw), headers)]
    return [Message(topic, partition, offset, e.get("key"), e.get("value"), e.get("headers") or {})
            for e in entries]


def _consumer(bootstrap: str, group: str, **extra) -> Consumer:
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                     "enable.auto.offset.store": False, **extra})


class TopicReader:
    """Reads ``topics`` (name -> partitions) from the start (``keep``) or the end (watermarks only)."""

    def __init__(self, bootstrap: str, topics: Mapping[str, int], *, keep: bool = True):
        self.keep = keep
        self.messages: dict[str, list[Message]] = {t: [] for t in topics}
        self._partitions = [(t, p) for t, n in sorted(topics.items()) for p in range(n)]
        self._at_end = dict.fromkeys(self._partitions, False)
        self._consumer = _consumer(bootstrap, f"faas-etl-reader-{uuid.uuid4().hex[:8]}",
                                   **{"enable.partition.eof": True, "fetch.wait.max.ms": 100})
        start = 0 if keep else OFFSET_END
        self._consumer.assign([TopicPartition(t, p, start) for t, p in self._partitions])

    def poll(self, seconds: float = 0.2) -> int:
        """Read what arrived for about ``seconds``; the number of records read (of messages
        without ``keep``)."""
        deadline, count = time.monotonic() + seconds, 0
        while True:
            left = deadline - time.monotonic()
            batch = self._consumer.consume(num_messages=1000, timeout=max(0.0, min(left, 0.1)))
            for msg in batch:
                tp = (msg.topic(), msg.partition())
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        self._at_end[tp] = True
                        continue
                    raise RuntimeError(f"reading {tp[0]}[{tp[1]}]: {err}")
                self._at_end[tp] = False
                if self.keep:
                    records = messages_of(msg)
                    self.messages[tp[0]] += records
                    count += len(records)
                else:  # nothing decoded: a message counts as one
                    count += 1
            if left <= 0:
                return count

    @property
    def at_end(self) -> bool:
        """Every partition was read to the end the broker last reported."""
        return all(self._at_end.values())

    def poll_to_end(self, timeout_s: float = 15.0, step_s: float = 0.1) -> None:
        """Poll until every partition reached its end; ``TimeoutError`` naming the topics if not."""
        deadline = time.monotonic() + timeout_s
        while not self.at_end:
            if time.monotonic() > deadline:
                topics = ", ".join(sorted({t for t, _ in self._partitions}))
                raise TimeoutError(f"{topics}: no end of partition reported within {timeout_s:.0f}s")
            self.poll(step_s)

    def high_watermarks(self, topic: str) -> dict[int, int]:
        """Per partition, the high watermark of the last fetch response (-1 before any)."""
        out = {}
        for t, p in self._partitions:
            if t == topic:
                _low, high = self._consumer.get_watermark_offsets(TopicPartition(t, p), cached=True)
                out[p] = high
        return out

    def messages_on(self, topic: str) -> int:
        """Messages on ``topic`` (a batch of records, or one plain record, each): the sum of the
        high watermarks."""
        return sum(max(h, 0) for h in self.high_watermarks(topic).values())

    def close(self) -> None:
        self._consumer.close()


def messages_on(bootstrap: str, topic: str, partitions: int, timeout: float = 15.0) -> int:
    """Messages on ``topic`` now (each a batch of records, or one plain record): the sum of its
    high watermarks, from fetch responses."""
    reader = TopicReader(bootstrap, {topic: partitions}, keep=False)
    try:
        reader.poll_to_end(timeout)
        return reader.messages_on(topic)
    finally:
        reader.close()


def records_in(bootstrap: str, topic: str, partitions: int, timeout: float = 60.0) -> int:
    """Records on ``topic`` now, a batch counting its records: read to the end, nothing kept."""
    reader = TopicReader(bootstrap, {topic: partitions})
    total, deadline = 0, time.monotonic() + timeout
    try:
        while not reader.at_end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: no end of partition reported within {timeout:.0f}s")
            total += reader.poll(0.2)
            reader.messages[topic].clear()
        return total
    finally:
        reader.close()


class GroupOffsets:
    """Committed offsets of consumer groups, read without joining them (the controller's reader)."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self._offsets = KafkaOffsets(bootstrap)

    def committed(self, group: str, topic: str, partitions: int) -> dict[int, int | None]:
        return self._offsets.committed(group, topic, range(partitions))

    def lag(self, group: str, topic: str, reader: TopicReader) -> GroupLag:
        high = reader.high_watermarks(topic)
        return group_lag(group, topic, self.committed(group, topic, len(high)), high)

    def close(self) -> None:
        self._offsets.close()


def reset_group(bootstrap: str, group: str, topic: str, partitions: int, offset: int = 0) -> None:
    """Set the group's committed offset on every partition of ``topic`` (no member may be active)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wanted = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p, offset) for p in range(partitions)])
    for future in admin.alter_consumer_group_offsets([wanted]).values():
        result = future.result(15)
        failed = [tp for tp in result.topic_partitions if tp.error is not None]
        if failed:
            raise RuntimeError(f"resetting group {group} on {topic}: {failed[0].error}")
