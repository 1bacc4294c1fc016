"""What ``faas-etl replay`` writes: a range of a topic, or dead letters, as messages to produce.

Why re-produce rather than rewind the group: the step's consumer group
``faas-etl.<workflow>.<topic>`` belongs to its Kafka EventSource, a sarama consumer group that
marks each message once the EventBus took it (``session.MarkMessage`` in argo-events
``pkg/eventsources/sources/kafka/start.go``, ``processOne``) and commits its marked offsets in
the background (sarama's auto-commit). Kafka refuses to alter the offsets of a group with a live
member (Apache Kafka 4.1 answers ``UNKNOWN_MEMBER_ID`` on every partition:
tests/devstack/test_replay.py); a rewind slipped in while a member leaves or rejoins (a restart,
a rebalance) races the commit of the offsets it marked in memory, which sarama flushes on
close. A rewind is only safe with the EventSource stopped, which a replay must not require.
Re-producing the range's messages unchanged is safe while everything runs: a batch keeps its
``etl-batch`` id, so the steps derive the same output ids and the idempotent consumers
(aggregate, warehouse) apply each at most once
(docs/contracts.md, "Records on Kafka").

A plain message (no ``etl-batch``) was identified by its Argo event id, which holds its offset;
re-produced as it is, it would be a new input. It is written as a one-record batch whose id is
the Argo event id it had (:func:`devstack.audit.plain_identity`), so it keeps its identity.

Dead letters: a function's letters are entries of batches ``{"step", "reason", "payload",
"topic", "key", "at"}`` (``partition`` when the letter has one); each payload goes back to its
topic as a record, in a batch of its own whose id derives from the letter batch's id and the
letter's place in it, so replaying a letter again, alone or with others, gives the same id. A Sensor's letter is one plain message whose payload is the
failed event's whole body: a batch body goes back as that batch (its ``etl-batch`` id when the
letter kept the event's headers, else an id derived from the letter's position).

Pure: the messages come from :mod:`devstack.topic_io`, which also writes the result.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from etlkit import wire
from etlkit.outrecord import OutRecord, json_bytes, out_record

from .audit import RawMessage, plain_identity

PartitionCount = Callable[[str], int]


class ReplayError(ValueError):
    """A replay that cannot be done as asked; the message names the option or the message."""


@dataclass(frozen=True)
class Range:
    """Offsets ``[start, end)`` of one partition to replay (``end`` None: to the partition's end)."""

    topic: str
    partition: int
    start: int
    end: int | None = None


def ranges(partitions: Sequence[int], topic: str, messages: Sequence[RawMessage], *,
           from_offset: int | None = None, from_time_ms: int | None = None,
           to_offset: int | None = None) -> list[Range]:
    """The range of each partition: from ``from_offset``, or from the first message whose
    timestamp is at or after ``from_time_ms`` (as Kafka's offsets-for-times), to ``to_offset``."""
    if (from_offset is None) == (from_time_ms is None):
        raise ReplayError("give exactly one of --from-offset or --from-time")
    if from_offset is not None and from_offset < 0:
        raise ReplayError("--from-offset: must be 0 or more")
    if to_offset is not None and from_offset is not None and to_offset < from_offset:
        raise ReplayError("--to-offset: must not be below --from-offset")
    out = []
    for partition in partitions:
        start = from_offset
        if start is None:
            later = [m.offset for m in messages if m.topic == topic and m.partition == partition
                     and m.timestamp_ms is not None and m.timestamp_ms >= from_time_ms]
            if not later:
                continue  # nothing that recent on this partition
            start = min(later)
        out.append(Range(topic, partition, start, to_offset))
    return out


def range_records(messages: Sequence[RawMessage], chosen: Sequence[Range], event_source_url: str
                  ) -> list[OutRecord]:
    """The messages of ``chosen`` as they are to be produced again, in offset order."""
    wanted = {(r.topic, r.partition): r for r in chosen}
    out = []
    for message in sorted(messages, key=lambda m: (m.topic, m.partition, m.offset)):
        r = wanted.get((message.topic, message.partition))
        if r is None or message.offset < r.start or (r.end is not None and message.offset >= r.end):
            continue
        out.append(again(message, event_source_url))
    return out


def again(message: RawMessage, event_source_url: str) -> OutRecord:
    """One message to produce again: a batch unchanged, a plain record as a one-record batch
    carrying the Argo event id it was delivered under."""
    if wire.is_batch(dict(message.headers)):
        return out_record(message.topic, message.value or b"", message.key, message.headers,
                          message.timestamp_ms, message.partition)
    value = message.value or b"null"
    try:
        json.loads(value)
    except ValueError:  # an entry's value is JSON: the text kept as a JSON string (a step dead-letters it)
        value = json_bytes(value.decode("utf-8", errors="replace"))
    record = out_record(message.topic, value, message.key,
                        tuple((k, v) for k, v in message.headers), message.timestamp_ms)
    return wire.batch_message(message.topic, message.partition, [wire.entry_bytes(record)],
                              plain_identity(message, event_source_url), message.timestamp_ms)


def dead_letter_records(letters: Sequence[RawMessage], partition_count: PartitionCount,
                        topic: str | None = None, keep: Callable[[Mapping[str, Any]], bool] | None = None,
                        ) -> list[OutRecord]:
    """The dead letters of ``letters`` (the dead-letter topic's messages) back to their topics
    (only to ``topic`` when given, only the letters ``keep`` keeps: ``faas-etl dlq replay --step``).
    ``ReplayError`` names a letter that says no topic.

    A function's letter goes back in a batch of its own, whose id derives from its letter
    batch's id and its place in that batch: whichever letters a replay selects, a letter is
    always replayed under the same id, so replaying it again is recognised downstream."""
    out: list[OutRecord] = []
    for message in sorted(letters, key=lambda m: (m.partition, m.offset)):
        headers = dict(message.headers)
        where = f"{message.topic}[{message.partition}]@{message.offset}"
        try:
            identity, entries, _end = wire.unbatch(message.value, message.headers, message.key,
                                                   message.timestamp_ms)
        except ValueError as exc:
            raise ReplayError(f"{where}: not a dead letter ({exc})") from None
        if wire.BATCH_HEADER in headers:
            for index, entry in enumerate(entries):
                letter = _value(entry)
                if keep is not None and not keep(letter):
                    continue
                record = _letter_record(letter, where)
                if topic is None or record.topic == topic:
                    out += wire.batches([record], f"{identity}/replay/{index}", partition_count)
        else:
            letter = _value(entries[0])
            if (topic is None or letter.get("topic") == topic) and (keep is None or keep(letter)):
                out.append(_sensor_letter_message(letter, where, partition_count))
    return out


def _value(entry: Any) -> Mapping[str, Any]:
    value = entry.get("value") if isinstance(entry, dict) else None
    return value if isinstance(value, dict) else {}


def _target(letter: Mapping[str, Any], where: str) -> str:
    topic = letter.get("topic")
    if not isinstance(topic, str) or not topic:
        raise ReplayError(f"{where}: the dead letter names no topic to replay to")
    return topic


def _partition(letter: Mapping[str, Any]) -> int | None:
    partition = letter.get("partition")
    return partition if type(partition) is int and partition >= 0 else None


def _letter_record(letter: Mapping[str, Any], where: str) -> OutRecord:
    key = letter.get("key")
    return out_record(_target(letter, where), json_bytes(letter.get("payload")),
                      None if key is None else str(key).encode(), (), None, _partition(letter))


def _sensor_letter_message(letter: Mapping[str, Any], where: str, partition_count: PartitionCount) -> OutRecord:
    topic = _target(letter, where)
    payload = letter.get("payload")
    if isinstance(payload, str):  # a Sensor's payload may arrive as JSON text
        try:
            payload = json.loads(payload)
        except ValueError:
            pass
    key = letter.get("key")
    key_bytes = None if key in (None, "") else str(key).encode()
    count = partition_count(topic)
    entries = wire.body_entries(payload)
    if entries is not None:
        partition = _partition(letter)
        if partition is None:  # a source's batch is of its records' key partition
            first = next((e.get("key") for e in entries if isinstance(e, dict) and e.get("key")), None)
            partition = wire.key_partition(None if first is None else str(first).encode(), count)
        headers = letter.get("headers") if isinstance(letter.get("headers"), dict) else {}
        identity = headers.get(wire.BATCH_HEADER) or wire.batch_id(f"{where}/replay", topic, partition, 0)
        return wire.batch_message(topic, partition % count, [json_bytes(e) for e in entries], str(identity),
                                  None, payload.get("end") is True)
    partition = _partition(letter)
    partition = wire.key_partition(key_bytes, count) if partition is None else partition % count
    return out_record(topic, json_bytes(payload), key_bytes, (), None, partition)
