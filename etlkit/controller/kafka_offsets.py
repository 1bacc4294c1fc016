"""The Kafka edge of gather: end offsets of topics and committed offsets of consumer groups.

End offsets are the high watermarks of *fetch responses*: the reader is assigned every
partition at its end and consumes until the broker reported end-of-partition on each, then
reads the watermarks librdkafka cached from those responses. A "latest offset" request
(``list_offsets``, uncached ``get_watermark_offsets``) would do on real Kafka, but the embedded
broker answers it with the start of the last producer batch (docs: platform.md); the fetch path
is right on both. The same pass starts a few messages before the end (``OFFSET_TAIL``) and counts
the records those newest messages carry (a record batch holds up to 4000, a plain message one):
what :mod:`.gather` converts message offsets to records with. Committed offsets are read with
the group's id and no subscription, so the group is never joined (no rebalance of the runner's
consumers).

I/O module: imports confluent_kafka. Anything that does not answer is an EdgeError("kafka").
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from ..wire import unbatch
from .errors import EdgeError
from .ports import TopicOffsets

__all__ = ["KafkaOffsets", "records_in"]

# librdkafka's RD_KAFKA_OFFSET_TAIL(n): n messages before the end (resolved by the broker).
_OFFSET_TAIL_BASE = -2000


def records_in(value: bytes | None, headers) -> int:
    """Records one message carries: a batch's entries, else one (a value that does not decode
    is one record too: the step dead-letters it as one)."""
    try:
        return len(unbatch(value, headers)[1])
    except ValueError:
        return 1


class KafkaOffsets:
    """An :class:`~.ports.OffsetReader` over confluent-kafka; close() when done."""

    def __init__(self, bootstrap: str, timeout_s: float = 10.0, sample: int = 4) -> None:
        self.bootstrap, self.timeout_s, self.sample = bootstrap, timeout_s, sample
        self._reader = Consumer({"bootstrap.servers": bootstrap,
                                 "group.id": f"faas-etl-controller-{uuid.uuid4().hex[:8]}",
                                 "enable.auto.commit": False, "enable.partition.eof": True,
                                 "fetch.wait.max.ms": 50, "socket.timeout.ms": 5000})
        self._groups: dict[str, Consumer] = {}

    def _partitions(self, topics: Sequence[str]) -> dict[str, list[int]]:
        try:
            metadata = self._reader.list_topics(timeout=self.timeout_s)
        except KafkaException as exc:
            raise EdgeError("kafka", f"no metadata from {self.bootstrap} ({exc})") from exc
        out = {}
        for topic in topics:
            info = metadata.topics.get(topic)
            if info is None or info.error is not None or not info.partitions:
                raise EdgeError("kafka", f"topic {topic} does not exist")
            out[topic] = sorted(info.partitions)
        return out

    def end_offsets(self, topics: Sequence[str]) -> dict[str, TopicOffsets]:
        partitions = self._partitions(topics)
        wanted = [(t, p) for t, ps in partitions.items() for p in ps]
        self._reader.assign([TopicPartition(t, p, _OFFSET_TAIL_BASE - self.sample)
                             for t, p in wanted])
        at_end: set[tuple[str, int]] = set()
        messages = dict.fromkeys(partitions, 0)
        records = dict.fromkeys(partitions, 0)
        deadline = time.monotonic() + self.timeout_s
        try:
            while len(at_end) < len(wanted):
                if time.monotonic() > deadline:
                    missing = sorted(set(wanted) - at_end)
                    raise EdgeError("kafka", f"no end of partition from the broker for "
                                             f"{missing[0][0]}[{missing[0][1]}] within "
                                             f"{self.timeout_s:g}s")
                for msg in self._reader.consume(500, timeout=0.1):
                    err = msg.error()
                    if err is not None and err.code() == KafkaError._PARTITION_EOF:
                        at_end.add((msg.topic(), msg.partition()))
                    elif err is not None and err.fatal():
                        raise EdgeError("kafka", str(err))
                    elif err is None:
                        messages[msg.topic()] += 1
                        records[msg.topic()] += records_in(msg.value(), msg.headers())
            out: dict[str, TopicOffsets] = {}
            for topic, ps in partitions.items():
                high, low = {}, {}
                for p in ps:
                    lo, hi = self._reader.get_watermark_offsets(TopicPartition(topic, p),
                                                                cached=True)
                    high[p], low[p] = max(hi, 0), max(lo, 0)
                out[topic] = TopicOffsets(high, low, messages[topic], records[topic])
            return out
        finally:
            self._reader.unassign()

    def committed(self, group: str, topic: str, partitions: Sequence[int]) -> dict[int, int | None]:
        reader = self._groups.get(group)
        if reader is None:
            # The group's id without subscribing: an offset fetch, never a join.
            reader = self._groups[group] = Consumer({"bootstrap.servers": self.bootstrap,
                                                     "group.id": group,
                                                     "enable.auto.commit": False})
        try:
            got = reader.committed([TopicPartition(topic, p) for p in partitions],
                                   timeout=self.timeout_s)
        except KafkaException as exc:
            raise EdgeError("kafka", f"committed offsets of group {group}: {exc}") from exc
        return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in got}

    def close(self) -> None:
        for consumer in self._groups.values():
            consumer.close()
        self._groups.clear()
        self._reader.close()
