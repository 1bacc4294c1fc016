"""What every source yields: plain record dicts for Kafka, and `BadRecord`s for dead letters.

A record is ``{"key", "value", "source", "event_time_ms"}``: exactly the keyword arguments of
``etlkit.outrecord.json_record`` after the topic, so a source function produces with
``json_record(topic, **record)``. A `BadRecord` is the second stream (a line that could not be
read, a row without a key): sources never raise for one bad input item.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MILLISECOND = dt.timedelta(milliseconds=1)


class SourceRecord(TypedDict):
    key: str | None
    value: dict[str, object]
    source: str
    event_time_ms: int


@dataclass(frozen=True)
class BadRecord:
    """An input item that could not become a record: where it was, why, and its raw text.

    ``raw`` is the dead letter's payload (the contract's "original bytes as text"): the whole
    input line(s), bounded by the file source's ``max_line_bytes`` (an over-long line keeps
    only its first bytes), or a SQL row as JSON.
    """

    source: str
    line: int  # 1-based input line (file sources) or row position in its page (SQL source)
    reason: str
    raw: str


class RecordError(ValueError):
    """Why a value cannot become a record (message is the reason)."""


def make_record(value: dict[str, object], *, source: str, key: str | None, event_time_ms: int) -> SourceRecord:
    return {"key": key, "value": value, "source": source, "event_time_ms": event_time_ms}


def key_of(value: Mapping[str, object], key_field: str | None) -> str | None:
    """The record key from ``key_field`` (scalars as text); None when no key field is set."""
    if key_field is None:
        return None
    key = value.get(key_field)
    if key is None or key == "":
        raise RecordError(f"key_field {key_field!r}: missing")
    if isinstance(key, (dict, list)):
        raise RecordError(f"key_field {key_field!r}: must be a scalar, got {type(key).__name__}")
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def epoch_ms(value: object) -> int:
    """Event time as epoch milliseconds from a number of ms, digit text, ISO 8601 text or datetime.

    A naive date-time is taken as UTC.
    """
    if isinstance(value, bool):
        raise RecordError("a boolean is not a time")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise RecordError(f"{value!r} is not a time")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise RecordError(f"{value!r} is neither epoch milliseconds nor an ISO 8601 date-time") from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return (value - _EPOCH) // _MILLISECOND  # exact: no float rounding of microseconds
    raise RecordError(f"{type(value).__name__} is not a time")


def event_time_of(value: Mapping[str, object], time_field: str | None, now_ms: int) -> int:
    """Event time from ``time_field``, or ``now_ms`` (ingestion time) when none is configured."""
    if time_field is None:
        return now_ms
    raw = value.get(time_field)
    if raw is None:
        raise RecordError(f"time_field {time_field!r}: missing")
    try:
        return epoch_ms(raw)
    except RecordError as error:
        raise RecordError(f"time_field {time_field!r}: {error}") from None
