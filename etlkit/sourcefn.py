"""The shared core of the source functions (file-source, sql-source, metrics-collector):
source records and bad inputs out to Kafka, in bounded chunks, acknowledged before answering."""
from __future__ import annotations

import json
from typing import Callable, Iterable, Mapping

from .http import BadRequest
from .metrics import count_records
from .outrecord import OutRecord, json_record
from .sources import BadRecord, SourceRecord

Produce = Callable[[list[OutRecord]], None]
CHUNK = 1000  # records per produce call: memory stays flat on a large input


def bad_record_out(bad: BadRecord, topic: str, source_topic: str, now_ms: int) -> OutRecord:
    """A bad input as a dead letter of docs/contracts.md (payload: the raw text)."""
    letter = {"step": bad.source, "reason": f"line {bad.line}: {bad.reason}", "payload": bad.raw,
              "topic": source_topic, "key": None, "at": now_ms}
    return OutRecord(topic=topic, value=json.dumps(letter, separators=(",", ":")).encode(),
                     headers=(("etl-source", bad.source.encode()),), timestamp_ms=now_ms)


def deliver(items: Iterable[SourceRecord | BadRecord], topic: str, dead_letter: str | None,
            produce: Produce, now_ms: int) -> dict[str, int]:
    """Produce records to ``topic`` and bad inputs to ``dead_letter``; count both.

    A bad input with no dead-letter topic to go to is an error, before anything of its chunk is
    produced, rather than a silent drop.
    """
    counts = {"records": 0, "dead_lettered": 0}
    chunk: list[OutRecord] = []
    unacked: dict[str, dict[str, int]] = {}  # per source: the chunk's records, for the metrics
    for item in items:
        if isinstance(item, BadRecord):
            if not dead_letter:
                raise BadRequest(f"dead_letter: required, line {item.line} is bad ({item.reason})")
            chunk.append(bad_record_out(item, dead_letter, topic, now_ms))
            counts["dead_lettered"] += 1
            _tally(unacked, item.source, "dead_lettered")
        else:
            chunk.append(json_record(topic, **item))
            counts["records"] += 1
            _tally(unacked, item["source"], "out", "emitted")
        if len(chunk) >= CHUNK:
            produce(chunk)
            _count_acknowledged(unacked)
            chunk = []
    produce(chunk)
    _count_acknowledged(unacked)
    return counts


def _tally(unacked: dict[str, dict[str, int]], source: str, *kinds: str) -> None:
    tally = unacked.setdefault(source, dict.fromkeys(("in", "out", "dead_lettered", "emitted"), 0))
    for kind in ("in", *kinds):
        tally[kind] += 1


def _count_acknowledged(unacked: dict[str, dict[str, int]]) -> None:
    """A source's records count (as its step's) only once Kafka acknowledged their chunk."""
    for source, tally in unacked.items():
        count_records("", source, tally)
    unacked.clear()


def spec_text(spec: Mapping, field: str) -> str:
    value = spec.get(field)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"source.{field}: required string")
    return value
