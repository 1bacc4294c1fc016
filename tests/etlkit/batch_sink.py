"""Test parts for the batch wire format (etlkit/wire.py): a produce double that keeps what
``kafka_io.produce_batches`` would write, and the Argo event a Sensor delivers for a message."""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Sequence

from etlkit import wire
from etlkit.outrecord import OutRecord

GO_TIME = "2024-06-01 09:00:00.25 +0000 UTC"


class BatchSink:
    """A :class:`etlkit.wire.ProduceBatches` double: the messages ``produce_batches`` would write
    to topics of ``partitions`` partitions each (a default count, or one per topic)."""

    def __init__(self, partitions: int | Mapping[str, int] = 1) -> None:
        self.partitions = partitions
        self.messages: list[OutRecord] = []
        self.origins: list[str] = []

    def count(self, topic: str) -> int:
        if isinstance(self.partitions, int):
            return self.partitions
        return self.partitions[topic]

    def __call__(self, records: list[OutRecord], origin: str, *, end: bool = False,
                 end_topics: Sequence[str] = (),
                 end_partitions: Mapping[str, Iterable[int]] | None = None) -> None:
        self.origins.append(origin)
        self.messages += wire.batches(records, origin, self.count, end=end, end_topics=end_topics,
                                      end_partitions=end_partitions)

    def records(self, topic: str) -> list[dict[str, Any]]:
        """Every record written to ``topic``, unbatched, with its ``partition``."""
        return [{**entry, "partition": m.partition} for m in self.messages if m.topic == topic
                for entry in wire.unbatch(m.value, m.headers)[1]]

    def ends(self, topic: str) -> list[int]:
        """The partitions of ``topic`` a message ended."""
        return sorted(m.partition for m in self.messages
                      if m.topic == topic and wire.unbatch(m.value, m.headers)[2])


def event_of(message: OutRecord, timestamp: str = GO_TIME) -> dict[str, Any]:
    """The Argo Kafka event data of ``message`` (``jsonBody: true``: the body decoded)."""
    return {"topic": message.topic, "partition": message.partition,
            "key": "" if message.key is None else message.key.decode(),
            "headers": {name: text.decode() for name, text in message.headers},
            "body": json.loads(message.value), "timestamp": timestamp}
