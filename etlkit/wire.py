"""Record batches on Kafka: many records in one message, so one Argo Events trigger call carries
many records (docs/contracts.md, "Records on Kafka"). Pure: no client here.

Why batches on the wire: a real Sensor sends one HTTP call per event and has one event in flight
per trigger (argo-events ``pkg/sensors/triggers/params.go``, ``pkg/eventbus/jetstream/sensor``
``Fetch(1)``), and event batching is an open upstream request (argoproj/argo-events#1499). The
only way to carry N records per call on the real path is N records per Kafka message.

A batch message has the header ``etl-batch`` (its identity) and the value
``{"records": [{"key", "time", "headers", "value"}, ...]}`` plus ``"end": true`` on the last
message a bounded source writes to a partition. Every record of one batch is of one partition.
A message without ``etl-batch`` is one plain record (a foreign producer: kcat, Kafka Connect).

Identities are deterministic: an output batch's id is derived from the input's id, the step, the
topic, the partition and the batch's index, so a redelivered input makes byte-identical outputs
that a stateful consumer recognises (issue 15, "Nothing doubled").
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

from .outrecord import OutRecord, json_bytes, out_record

BATCH_HEADER = "etl-batch"
# A plain record's event time (docs/contracts.md); a batch entry has its "time" instead.
EVENT_TIME_HEADER = "etl-event-time"
# Enough records to make a call's fixed costs (a NATS fetch, an HTTP round trip, a flush, an ack)
# small against its records, few enough that a retried call redoes little (a 4000-record call
# takes a step function some 50 ms); MAX_BYTES cuts a batch of larger records sooner. Measured on
# the real Argo Events path (bench_realargo, the orders workflow, 240 000 records, the runs of a
# pair back to back at load 8-10): 2000-record messages cost 109 us of CPU per record at 10 508
# records/s, 4000-record ones 88 us at 13 128 (Argo processes 21 -> 16, broker 16 -> 9); 500
# cost 210 before batches were compressed (2000: 159).
MAX_RECORDS = 4000
# Below Kafka's default message.max.bytes (1 MiB) with room for the envelope and headers.
MAX_BYTES = 900_000
# A batch whose records take this many bytes or more is written deflated (zlib, level 1) and
# base64'd under COMPRESSED. Why: every hop of the real path handles each message's bytes several
# times over in Go's encoding/json (the Kafka EventSource compacts the body into the event, the
# event into its CloudEvent; the Sensor validates the CloudEvent, decodes it, validates the data
# again for the trigger's payload: perf over the orders workflow, argo-events v1.9.11), about
# 13 us per 200-byte record per hop; the bench's orders deflate 6x (base64 included) for 0.7 us
# of CPU per record written and 0.3 read. Measured on the real Argo Events path (bench_realargo,
# the orders workflow, 2000-record batches, 120 000 records, load 10-24): the Argo processes'
# CPU 65 -> 20 us per record, the EventBus's 16 -> 9, the whole path's 156 -> 105. Smaller
# batches stay plain JSON, readable as they are: their cost on the path is per message.
COMPRESS_BYTES = 64 * 1024
COMPRESSED = "records_zlib"
# What a compressed batch may inflate to: a writer cuts batches at MAX_BYTES; more is refused.
MAX_INFLATED_BYTES = 8 * 1024 * 1024

PartitionCount = Callable[[str], int]


class ProduceBatches(Protocol):
    """What a function writes its outputs with (``etlkit.kafka_io.produce_batches`` in a
    function, a few lines over :func:`batches` in a test): ``records`` as batches from
    ``origin``, each acknowledged before it returns (else ``DeliveryError``)."""

    def __call__(self, records: list[OutRecord], origin: str, *, end: bool = False,
                 end_topics: Sequence[str] = (),
                 end_partitions: Mapping[str, Iterable[int]] | None = None) -> None: ...


def batch_id(origin: str, topic: str, partition: int, index: int) -> str:
    """The identity of the ``index``-th batch that ``origin`` writes to ``topic``/``partition``:
    the same inputs give the same id on every run (blake2b, 128 bits, hex)."""
    text = f"{origin}\x1f{topic}\x1f{partition}\x1f{index}".encode()
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def key_partition(key: bytes | None, partitions: int, fallback: int = 0) -> int:
    """The partition of a keyed record as librdkafka's default (consistent) partitioner picks it:
    CRC-32 of the key modulo the partition count. Keyless records go to ``fallback``."""
    if key is None:
        return fallback % partitions
    return zlib.crc32(key) % partitions


def batches(records: Iterable[OutRecord], origin: str, partition_count: PartitionCount, *,
            end: bool = False, end_topics: Sequence[str] = (),
            end_partitions: Mapping[str, Iterable[int]] | None = None,
            max_records: int = MAX_RECORDS, max_bytes: int = MAX_BYTES) -> list[OutRecord]:
    """``records`` as batch messages: grouped by topic and partition (a record's own
    ``partition``, modulo the topic's count, else by its key), cut at ``max_records`` records or
    ``max_bytes`` bytes, each with its id from ``origin``.

    ``end``: the writer's input is over, and the last message of some partitions says so with
    ``"end": true`` (empty when that partition had no records): every partition of each of
    ``end_topics`` (a bounded source: its whole input is read), and the partitions
    ``end_partitions`` names per topic, modulo the topic's count (a step: one input partition
    ended, so the output partition its records went to ends, and only that one).
    """
    # Keyless records without a partition all go to one partition per call, chosen by the
    # origin: a writer's calls spread over the partitions, and a call written again goes where
    # it went.
    keyless = zlib.crc32(origin.encode())
    groups: dict[tuple[str, int], list[bytes]] = {}
    newest: dict[tuple[str, int], int] = {}  # per slot, the newest event time: its timestamp
    counts: dict[str, int] = {}
    for record in records:
        # One unpacking, not an attribute lookup per field: this loop runs once per record.
        topic, _value, key, _headers, stamp, hint = record
        count = counts.get(topic)
        if count is None:
            count = counts[topic] = partition_count(topic)
        slot = (topic, hint % count if hint is not None else key_partition(key, count, keyless))
        group = groups.get(slot)
        if group is None:
            group = groups[slot] = []
        group.append(entry_bytes(record))
        if stamp is not None and stamp > newest.get(slot, stamp - 1):
            newest[slot] = stamp
    ended: set[tuple[str, int]] = set()
    if end:
        for topic in end_topics:
            ended.update((topic, p) for p in range(counts.get(topic) or partition_count(topic)))
        for topic, partitions in (end_partitions or {}).items():
            count = counts.get(topic) or partition_count(topic)
            ended.update((topic, p % count) for p in partitions)
        for slot in sorted(ended):
            groups.setdefault(slot, [])
    out: list[OutRecord] = []
    for (topic, partition), entries in groups.items():
        chunks = list(_chunks(entries, max_records, max_bytes)) or [[]]
        last = len(chunks) - 1
        for index, chunk in enumerate(chunks):
            closing = index == last and (topic, partition) in ended
            out.append(batch_message(topic, partition, chunk, batch_id(origin, topic, partition, index),
                                     newest.get((topic, partition)), closing))
    return out


def entry_bytes(record: OutRecord) -> bytes:
    """One record inside a batch, from its Kafka form (its value is JSON already: not re-encoded).
    One ``%`` format in C rather than a chain of concatenations, each a copy."""
    _topic, value, key, headers, stamp, _partition = record
    if stamp is None:
        time = b"null"
    else:
        time = b"%d" % stamp
        # The etl-event-time header only repeats the entry's time (docs/contracts.md: the time
        # is the event time): left out. Our writers put it first (sorted) or last (sources).
        if headers and headers[0][0] == EVENT_TIME_HEADER and headers[0][1] == time:
            headers = headers[1:]
        elif headers and headers[-1][0] == EVENT_TIME_HEADER and headers[-1][1] == time:
            headers = headers[:-1]
    encoded = _HEADERS_JSON.get(headers)
    if encoded is None:
        encoded = _headers_json(headers)
    return b'{"key":%b,"time":%b,"headers":%b,"value":%b}' % (
        b"null" if key is None else _json_text(key), time, encoded, value)


# Printable ASCII but the two characters JSON escapes: text of only these is its own JSON body.
_PLAIN = bytes(range(0x20, 0x7F)).replace(b'"', b"").replace(b"\\", b"")


def _json_text(raw: bytes) -> bytes:
    """UTF-8 ``raw`` as a JSON string: quoted as it is when nothing in it needs escaping (most
    keys: checked in C), else by the JSON encoder."""
    if not raw.translate(None, _PLAIN):
        return b'"%b"' % raw
    return json_bytes(raw.decode())


# JSON of header sets seen, without the event time: a writer's records share a few (their
# source's), so each is encoded once, not once per record. Cleared when full.
_HEADERS_JSON: dict[tuple[tuple[str, bytes], ...], bytes] = {}
_HEADERS_KEPT = 1024


def _headers_json(headers: tuple[tuple[str, bytes], ...]) -> bytes:
    if len(_HEADERS_JSON) >= _HEADERS_KEPT:
        _HEADERS_JSON.clear()
    encoded = _HEADERS_JSON[headers] = json_bytes({name: text.decode() for name, text in headers})
    return encoded


def batch_message(topic: str, partition: int, entries: Sequence[bytes], identity: str,
                  timestamp_ms: int | None, end: bool = False) -> OutRecord:
    """One batch message: ``{"records": [...]}``, or from COMPRESS_BYTES of entries on
    ``{"records_zlib": "<base64 of the zlib-deflated array>"}``; ``"end": true`` beside either."""
    array = b"[" + b",".join(entries) + b"]"
    if len(array) >= COMPRESS_BYTES:
        value = b'{"%b":"%b"' % (COMPRESSED.encode(), base64.b64encode(zlib.compress(array, 1)))
    else:
        value = b'{"records":' + array
    value += b',"end":true}' if end else b"}"
    return out_record(topic, value, None, ((BATCH_HEADER, identity.encode()),), timestamp_ms, partition)


def _chunks(entries: list[bytes], max_records: int, max_bytes: int) -> Iterator[list[bytes]]:
    if len(entries) <= max_records and sum(map(len, entries)) + len(entries) <= max_bytes:
        yield entries  # one batch, what most calls write: counted in C, not entry by entry
        return
    chunk: list[bytes] = []
    size = 0
    for entry in entries:
        if chunk and (len(chunk) >= max_records or size + len(entry) + 1 > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += len(entry) + 1
    if chunk:
        yield chunk


def body_entries(value: Any) -> list[Any] | None:
    """The entries of a decoded batch value, plain or compressed; None when ``value`` is not a
    batch value (a Sensor's dead letter holds the failed event's body: a batch or one record)."""
    if type(value) is dict and (type(value.get("records")) is list or COMPRESSED in value):
        try:
            return batch_entries(value)[0]
        except ValueError:
            return None
    return None


def _unpacked(packed: Any) -> Any:
    """The entries of a compressed batch, numbers read exactly (etlkit.http ``parse_json_body``,
    as a function reads its invocation); ValueError naming the field and the rule."""
    from .http import BadRequest, parse_json_body

    if type(packed) is not str:
        raise ValueError(f"body.{COMPRESSED}: must be text (base64 of zlib-deflated JSON)")
    try:
        inflate = zlib.decompressobj()
        text = inflate.decompress(base64.b64decode(packed, validate=True), MAX_INFLATED_BYTES)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise ValueError(f"body.{COMPRESSED}: not base64 of zlib-deflated data ({exc})") from None
    if inflate.unconsumed_tail or not inflate.eof:
        raise ValueError(f"body.{COMPRESSED}: inflates past {MAX_INFLATED_BYTES} bytes, or is cut short")
    try:
        return parse_json_body(text, f"body.{COMPRESSED}")
    except BadRequest as exc:
        raise ValueError(str(exc)) from None


def is_batch(headers: Mapping[str, Any] | None) -> bool:
    return bool(headers) and BATCH_HEADER in headers  # type: ignore[operator]


def batch_entries(value: Any) -> tuple[list[Any], bool]:
    """The entries and the end flag of a decoded batch value; ValueError naming the field."""
    if type(value) is not dict:
        raise ValueError("body: a batch (etl-batch header) must be a JSON object")
    entries = value.get("records")
    if entries is None and COMPRESSED in value:
        entries = _unpacked(value[COMPRESSED])
    if type(entries) is not list:
        raise ValueError("body.records: required, an array (a batch's records)")
    end = value.get("end", False)
    if type(end) is not bool:
        raise ValueError("body.end: must be true or false")
    return entries, end


def unbatch(value: bytes | None, headers: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
            key: bytes | None = None, timestamp_ms: int | None = None,
            ) -> tuple[str | None, list[dict[str, Any]], bool]:
    """A raw Kafka message as ``(batch id or None, [{"key", "time", "headers", "value"}], end)``,
    for readers outside the step path (CLI, audit, tests): a batch gives its entries, a plain
    record one entry from the message's own key, timestamp and headers. An entry's headers are
    those the record would carry as a plain message: with ``etl-event-time`` from its time
    (:func:`entry_bytes` leaves it out). ValueError when the value is not JSON or not what its
    header says."""
    import json

    named = {name: (text.decode() if isinstance(text, (bytes, bytearray)) else str(text))
             for name, text in (headers.items() if isinstance(headers, Mapping) else headers or ())}
    document = json.loads(value) if value else None
    if BATCH_HEADER in named:
        entries, end = batch_entries(document)
        return named[BATCH_HEADER], [_as_plain(entry) for entry in entries], end
    return None, [{"key": None if key is None else key.decode(), "time": timestamp_ms,
                   "headers": named, "value": document}], False


def _as_plain(entry: Any) -> Any:
    headers, stamp = (entry.get("headers"), entry.get("time")) if type(entry) is dict else (None, None)
    if type(stamp) is not int or (headers is not None and type(headers) is not dict) or (
            headers and EVENT_TIME_HEADER in headers):
        return entry
    return {**entry, "headers": {**(headers or {}), EVENT_TIME_HEADER: str(stamp)}}
