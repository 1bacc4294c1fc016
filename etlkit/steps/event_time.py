"""A record's event time, in epoch milliseconds.

From a configured field (ISO-8601 text or epoch milliseconds, as the ``timestamp`` cast reads
it) or else, per docs/contracts.md, from the ``etl-event-time`` header, falling back to the
Kafka timestamp (which the contract also makes the event time).
"""
from __future__ import annotations

import re

from .casts import to_timestamp_ms
from .failures import RecordError
from .fieldpaths import Path, read_path
from .record import EVENT_TIME_HEADER, Record

_MILLIS_TEXT = re.compile(r"-?[0-9]{1,18}")


def event_time_ms(record: Record, field: Path | None = None) -> int:
    """The event time of ``record``; :class:`RecordError` when it has none."""
    if field is not None:
        name = ".".join(field)
        value = read_path(record.value, field)
        if value is None:
            raise RecordError(f"event time field {name}: missing")
        try:
            return to_timestamp_ms(value)
        except RecordError as exc:
            raise RecordError(f"event time field {name}: {exc.reason}") from None
    header = record.headers.get(EVENT_TIME_HEADER)
    if header is not None:
        if not _MILLIS_TEXT.fullmatch(header):
            raise RecordError(f"header {EVENT_TIME_HEADER}: {header[:40]!r} is not epoch milliseconds")
        return int(header)
    if record.timestamp is not None:
        return record.timestamp
    raise RecordError(f"no event time: no {EVENT_TIME_HEADER} header and no timestamp")
