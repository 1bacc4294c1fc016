"""The shared core of the source functions (file-source, sql-source, metrics-collector):
source records and bad inputs out to Kafka as record batches, in bounded chunks, acknowledged
before answering."""
from __future__ import annotations

import hashlib
import json
from typing import Iterable, Mapping

from .calllog import note_dead_letters
from .http import BadRequest
from .metrics import count_records
from .outrecord import OutRecord, json_record
from .sources import BadRecord, SourceRecord
from .wire import MAX_RECORDS, ProduceBatches

# Records per produce call: memory stays flat on a large input, and a chunk spread over a few
# partitions still fills batches of about MAX_RECORDS each.
CHUNK = 8 * MAX_RECORDS


def bad_record_out(bad: BadRecord, topic: str, source_topic: str, now_ms: int) -> OutRecord:
    """A bad input as a dead letter of docs/contracts.md (payload: the raw text)."""
    letter = {"step": bad.source, "reason": f"line {bad.line}: {bad.reason}", "payload": bad.raw,
              "topic": source_topic, "key": None, "at": now_ms}
    return OutRecord(topic=topic, value=json.dumps(letter, separators=(",", ":")).encode(),
                     headers=(("etl-source", bad.source.encode()),), timestamp_ms=now_ms)


def deliver(items: Iterable[SourceRecord | BadRecord], topic: str, dead_letter: str | None,
            produce: ProduceBatches, now_ms: int, origin: str, *,
            end: bool = False) -> dict[str, int]:
    """Produce records to ``topic`` and bad inputs to ``dead_letter`` as batches; count both.

    ``origin``: what was read, deterministically (a file's digest, a SQL cursor range), so the
    same input read again writes the same batch ids; the n-th chunk's origin is
    ``<origin>#<n>``. ``end``: the input is bounded and this is all of it: the last batch of
    every partition of ``topic`` says so (not the dead-letter topic's: nothing reads it to an
    end).

    A bad input with no dead-letter topic to go to is an error, before anything of its chunk is
    produced, rather than a silent drop.
    """
    counts = {"records": 0, "dead_lettered": 0}
    chunk: list[OutRecord] = []
    chunks = 0
    unacked: dict[str, dict[str, int]] = {}  # per source: the chunk's records, for the metrics
    for item in items:
        if isinstance(item, BadRecord):
            if not dead_letter:
                raise BadRequest(f"dead_letter: required, line {item.line} is bad ({item.reason})")
            chunk.append(bad_record_out(item, dead_letter, topic, now_ms))
            note_dead_letters(((None, f"line {item.line}: {item.reason}"),))
            counts["dead_lettered"] += 1
            _tally(unacked, item.source, "dead_lettered")
        else:
            chunk.append(json_record(topic, **item))
            counts["records"] += 1
            _tally(unacked, item["source"], "out", "emitted")
        if len(chunk) >= CHUNK:
            produce(chunk, f"{origin}#{chunks}")
            _count_acknowledged(unacked)
            chunk, chunks = [], chunks + 1
    produce(chunk, f"{origin}#{chunks}", end=end, end_topics=(topic,) if end else ())
    _count_acknowledged(unacked)
    return counts


def content_digest(body: bytes | str) -> str:
    """blake2b (128 bits, hex) of an uploaded body or of the file at a path: what a bounded
    input's batch ids derive from, so the same file read again writes the same ids."""
    digest = hashlib.blake2b(digest_size=16)
    if isinstance(body, (bytes, bytearray)):
        digest.update(body)
    else:
        with open(body, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def _tally(unacked: dict[str, dict[str, int]], source: str, *kinds: str) -> None:
    tally = unacked.setdefault(source, dict.fromkeys(("in", "out", "dead_lettered", "emitted"), 0))
    for kind in ("in", *kinds):
        tally[kind] += 1


def _count_acknowledged(unacked: dict[str, dict[str, int]]) -> None:
    """A source's records count (as its step's) only once Kafka acknowledged their chunk."""
    for source, tally in unacked.items():
        count_records("", source, tally)
    unacked.clear()


def spec_params(spec: Mapping) -> Mapping:
    """A source spec's ``params``: an object, or absent (none)."""
    params = spec.get("params")
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise BadRequest(f"source.params: must be an object, got {params!r}")
    return params


def spec_dead_letter(spec: Mapping) -> str | None:
    """A source spec's ``dead_letter`` topic: a topic name, or absent (none)."""
    topic = spec.get("dead_letter")
    if topic is not None and (not isinstance(topic, str) or not topic):
        raise BadRequest(f"source.dead_letter: must be a topic name, got {topic!r}")
    return topic


def known_topics(*named: tuple[str, str | None], exists) -> None:
    """Each ``(field, topic)`` names a topic the cluster has (``exists``: kafka_io.topic_exists):
    an unknown one is a 404 naming the field, not a 503 from Kafka once records are made."""
    for field, topic in named:
        if topic and not exists(topic):
            raise BadRequest(f"{field}: unknown topic {topic!r}", status=404)


def spec_text(spec: Mapping, field: str) -> str:
    value = spec.get(field)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"source.{field}: required string")
    return value
