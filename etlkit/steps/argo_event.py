"""Records from the Argo Events Kafka event data a Sensor posts to a step function.

The data is ``{topic, key, partition, body, timestamp, headers}`` (argo-events
``pkg/eventsources/sources/kafka``): ``body`` is the decoded JSON value with ``jsonBody: true``,
otherwise the message bytes base64-encoded (Go's ``[]byte`` in JSON); ``key`` is the key as text
(a null key arrives as ``""`` and becomes ``None`` here); ``timestamp`` is Go's ``time.String()``
text, e.g. ``2024-05-01 12:00:00.123 +0000 UTC``. The Kafka offset is not in the event.

A message with the ``etl-batch`` header is a record batch (etlkit/wire.py): its body holds many
records, each with its own key, event time and headers, all of the event's partition.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any, Mapping, Sequence

from ..wire import BATCH_HEADER, batch_entries
from .casts import epoch_ms
from .failures import RecordError
from .outcome import DeadLetter
from .record import Record, trusted_record

_GO_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ([+-]\d{2})(\d{2})(?: [^ ]+)?(?: m=\S+)?")


class BadEvent(RecordError):
    """An event that is not a record; carries what the dead letter needs."""

    def __init__(self, reason: str, payload: Any, topic: str | None, key: str | None) -> None:
        super().__init__(reason)
        self.payload, self.topic, self.key = payload, topic, key


def parse_go_time(text: Any) -> int | None:
    """Epoch milliseconds of a Go ``time.String()`` text (or an int of ms); None if neither."""
    if type(text) is int:
        return text
    if type(text) is str:
        millis = _recent_go_time(text)
        if millis is not _UNKNOWN:
            return millis
    return _parse_go_time_text(text)


def _parse_go_time_text(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    match = _GO_TIME.fullmatch(text.strip())
    if match is None:
        return None
    day, clock, fraction, offset_hours, offset_minutes = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}.{micros}{offset_hours}:{offset_minutes}")
    except ValueError:
        return None
    return epoch_ms(moment)


# Epoch ms of a Go time text's minute with its zone ("2024-06-01 09:00:" + " +0000 UTC"), None
# when it is no time, or _UNKNOWN to leave the text to the full parser. Records of one batch
# share a few minutes, so the regex and the datetime work are done once per minute, not once per
# record; the seconds and the fraction are added by table lookups. Cleared when full.
_MINUTES: dict[str, Any] = {}
_MINUTES_KEPT = 4096
_UNKNOWN: Any = object()
_MISSING: Any = object()
_SECOND_MS = {f"{second:02d}": second * 1000 for second in range(60)}
# Milliseconds of every fraction text of 1 to 3 digits ("5" -> 500, "05" -> 50, "005" -> 5).
_FRACTION_MS = {f"{n:0{width}d}": n * 10 ** (3 - width)
                for width in (1, 2, 3) for n in range(10 ** width)}


def _recent_go_time(text: str) -> Any:
    """:func:`parse_go_time` of ``text`` through the cache of minutes, or ``_UNKNOWN`` when the
    text is not in the one plain shape handled here (then the full parser decides).

    The shape is ``<16 characters>:SS[.<1 to 9 ASCII digits>] <rest>``, SS from 00 to 59. The
    minute with its ``<rest>`` is parsed by the full parser once; the seconds and the fraction add
    their milliseconds, which is exact: offsets are whole minutes, so the minute's epoch ms is a
    multiple of 1000 and flooring the fraction floors the sum.
    """
    mark = text[19:20]
    if mark == ".":
        end = text.find(" ", 20)
        if end < 0:
            return _UNKNOWN
        millis = _FRACTION_MS.get(text[20:end])
        if millis is None:  # more than 3 digits (nanoseconds), or no digits at all
            fraction = text[20:end]
            if not 3 < len(fraction) <= 9 or not fraction.isascii() or not fraction.isdigit():
                return _UNKNOWN
            millis = _FRACTION_MS[fraction[:3]]
    elif mark == " ":
        end, millis = 19, 0
    else:
        return _UNKNOWN
    seconds = _SECOND_MS.get(text[17:19])
    if seconds is None:
        return _UNKNOWN
    minute = text[:17] + text[end:]
    base = _MINUTES.get(minute, _MISSING)
    if base is _MISSING:
        if len(_MINUTES) >= _MINUTES_KEPT:
            _MINUTES.clear()
        base = _MINUTES[minute] = _minute_ms(minute)
    if base is None or base is _UNKNOWN:
        return base
    return base + seconds + millis


def _minute_ms(minute: str) -> Any:
    if minute[0].isspace():  # stripped by the full parser, the positions above would shift
        return _UNKNOWN
    return _parse_go_time_text(f"{minute[:17]}00{minute[17:]}")


def record_from_argo_event(event: Mapping[str, Any]) -> Record:
    """The :class:`Record` carried by one Argo Kafka event; :class:`BadEvent` if there is none."""
    # Exact-type tests first: this runs once per record, and an isinstance against the typing
    # ABC Mapping costs more than the rest of the decoding.
    if type(event) is not dict and not isinstance(event, Mapping):
        raise BadEvent("event: must be an object", _text(event), None, None)
    topic = event.get("topic")
    if not isinstance(topic, str):
        topic = None
    key = event.get("key")
    if not isinstance(key, str) or not key:
        key = None
    body = event.get("body")
    value = body if type(body) is dict else _decode_body(body, topic, key)
    headers = event.get("headers") or {}
    if type(headers) is not dict or not _all_text(headers):
        if not isinstance(headers, Mapping):
            raise BadEvent("event.headers: must be an object", value, topic, key)
        headers = {str(name): str(text) for name, text in headers.items()}
    partition = event.get("partition")
    if type(partition) is not int:
        partition = None
    stamp = event.get("timestamp")
    timestamp = _recent_go_time(stamp) if type(stamp) is str else _UNKNOWN  # (one call less)
    if timestamp is _UNKNOWN:
        timestamp = parse_go_time(stamp)
    if key is not None and type(key) is not str:  # a str subclass: Record() refuses it
        return Record(value=value, key=key, topic=topic, headers=headers, partition=partition,
                      timestamp=timestamp)
    # Every field now has the exact type Record() would check: skip the second check.
    return trusted_record(value, key, headers, topic, partition, None, timestamp)


def _all_text(headers: dict[Any, Any]) -> bool:
    """Whether every header name and value is already a str (Go's map[string]string always is),
    so the event's own dict can be the record's: values of events are not copied either."""
    for name, text in headers.items():
        if type(text) is not str or type(name) is not str:
            return False
    return True


def _decode_body(body: Any, topic: str | None, key: str | None) -> dict[str, Any]:
    if type(body) is dict:
        return body
    if isinstance(body, str):
        text = _base64_text(body)
        try:
            decoded = json.loads(text if text is not None else body)
        except (ValueError, RecursionError):
            raise BadEvent("event.body: not JSON", text if text is not None else body,
                           topic, key) from None
        if type(decoded) is dict:
            return decoded
        body = decoded
    raise BadEvent("event.body: must be a JSON object", body, topic, key)


def _base64_text(body: str) -> str | None:
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _text(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def is_batch_event(event: Any) -> bool:
    """Whether ``event`` carries a record batch (the ``etl-batch`` header)."""
    return type(event) is dict and type(event.get("headers")) is dict and BATCH_HEADER in event["headers"]


def batch_end(event: Any) -> bool:
    """Whether ``event`` is a batch marked as the last of its partition (``"end": true``)."""
    return is_batch_event(event) and type(event.get("body")) is dict and event["body"].get("end") is True


def records_from_batch_event(event: dict[str, Any]) -> tuple[list[Record], list[BadEvent]]:
    """The records of a batch event, and what is wrong with each entry that is not one."""
    topic = event.get("topic") if isinstance(event.get("topic"), str) else None
    partition = event.get("partition") if type(event.get("partition")) is int else None
    try:
        entries, _end = batch_entries(event.get("body"))
    except ValueError as exc:
        return [], [BadEvent(str(exc), _text(event.get("body")), topic, None)]
    records: list[Record] = []
    bad: list[BadEvent] = []
    for index, entry in enumerate(entries):
        where = f"body.records[{index}]"
        if type(entry) is not dict:
            bad.append(BadEvent(f"{where}: must be an object", _text(entry), topic, None))
            continue
        key, value, headers, stamp = (entry.get("key"), entry.get("value"),
                                      entry.get("headers") or {}, entry.get("time"))
        if key is not None and type(key) is not str:
            bad.append(BadEvent(f"{where}.key: must be text or null", _text(value), topic, None))
        elif type(value) is not dict:
            bad.append(BadEvent(f"{where}.value: must be a JSON object", _text(value), topic, key))
        elif type(headers) is not dict or not _all_text(headers):
            bad.append(BadEvent(f"{where}.headers: must map names to text", value, topic, key))
        elif stamp is not None and type(stamp) is not int:
            bad.append(BadEvent(f"{where}.time: must be epoch milliseconds or null", value, topic, key))
        else:
            records.append(trusted_record(value, key, headers, topic, partition, None, stamp))
    return records, bad


def records_from_events(events: Sequence[Any], step: str, now_ms: int,
                        ) -> tuple[list[Record], list[DeadLetter]]:
    """Decode a batch of events: the records, and dead letters for events that carry none."""
    records: list[Record] = []
    dead: list[DeadLetter] = []
    for event in events:
        if is_batch_event(event):
            found, bad = records_from_batch_event(event)
            records += found
            dead += [DeadLetter(step, b.reason, b.payload, b.topic, b.key, now_ms) for b in bad]
            continue
        try:
            records.append(record_from_argo_event(event))
        except BadEvent as exc:
            dead.append(DeadLetter(step, exc.reason, exc.payload, exc.topic, exc.key, now_ms))
        except TypeError as exc:  # a header or field of the wrong type reached Record()
            dead.append(DeadLetter(step, f"event: {exc}", _text(event), None, None, now_ms))
    return records, dead
