"""Records from the Argo Events Kafka event data a Sensor posts to a step function.

The data is ``{topic, key, partition, body, timestamp, headers}`` (argo-events
``pkg/eventsources/sources/kafka``): ``body`` is the decoded JSON value with ``jsonBody: true``,
otherwise the message bytes base64-encoded (Go's ``[]byte`` in JSON); ``key`` is the key as text
(a null key arrives as ``""`` and becomes ``None`` here); ``timestamp`` is Go's ``time.String()``
text, e.g. ``2024-05-01 12:00:00.123 +0000 UTC``. The Kafka offset is not in the event.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any, Mapping, Sequence

from .casts import epoch_ms
from .failures import RecordError
from .outcome import DeadLetter
from .record import Record

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


def record_from_argo_event(event: Mapping[str, Any]) -> Record:
    """The :class:`Record` carried by one Argo Kafka event; :class:`BadEvent` if there is none."""
    if not isinstance(event, Mapping):
        raise BadEvent("event: must be an object", _text(event), None, None)
    topic = event.get("topic") if isinstance(event.get("topic"), str) else None
    key = event.get("key") if isinstance(event.get("key"), str) and event.get("key") else None
    body = event.get("body")
    value = _decode_body(body, topic, key)
    headers = event.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise BadEvent("event.headers: must be an object", value, topic, key)
    partition = event.get("partition")
    return Record(value=value, key=key, topic=topic,
                  headers={str(name): str(text) for name, text in headers.items()},
                  partition=partition if type(partition) is int else None,
                  timestamp=parse_go_time(event.get("timestamp")))


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


def records_from_events(events: Sequence[Any], step: str, now_ms: int,
                        ) -> tuple[list[Record], list[DeadLetter]]:
    """Decode a batch of events: the records, and dead letters for events that carry none."""
    records: list[Record] = []
    dead: list[DeadLetter] = []
    for event in events:
        try:
            records.append(record_from_argo_event(event))
        except BadEvent as exc:
            dead.append(DeadLetter(step, exc.reason, exc.payload, exc.topic, exc.key, now_ms))
        except TypeError as exc:  # a header or field of the wrong type reached Record()
            dead.append(DeadLetter(step, f"event: {exc}", _text(event), None, None, now_ms))
    return records, dead
