"""A record on its way to Kafka, laid out as docs/contracts.md says (pure: no client here)."""
from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class OutRecord:
    topic: str
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None


def json_record(topic: str, value: dict, key: str | None, source: str,
                event_time_ms: int) -> OutRecord:
    """JSON value, UTF-8 key, `etl-source` and `etl-event-time` headers, event-time timestamp."""
    return OutRecord(topic=topic, value=json.dumps(value, separators=(",", ":")).encode(),
                     key=key.encode() if key is not None else None,
                     headers=(("etl-source", source.encode()),
                              ("etl-event-time", str(event_time_ms).encode())),
                     timestamp_ms=event_time_ms)
