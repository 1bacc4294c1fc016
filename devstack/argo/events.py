"""Events as a Sensor receives them: a CloudEvents context and the event source's data.

Shapes follow argo-events: ``pkg/eventsources/events/event-data.go`` (``KafkaEventData``,
``CalendarEventData``), ``pkg/eventsources/sources/kafka/start.go`` (how a Kafka message becomes
that data) and ``pkg/eventsources/eventing.go`` (the CloudEvents context). Pure: the caller gives
the message fields and the current time.

Kafka event data, in Go's field order: ``topic``, ``key`` (text), ``partition`` (int), ``body``
(the decoded JSON value when the source has ``jsonBody: true``, else the bytes base64-encoded as
``encoding/json`` writes a ``[]byte``; null for a null value), ``timestamp`` (``Time.String()`` of
the message time, UTC here), ``headers`` (text to text, last duplicate wins) and ``metadata``
(only when the source sets it). Calendar: ``eventTime`` (``Time.String()``) and ``metadata``.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

from . import gojson
from .gotime import from_epoch_ms, go_time_string, rfc3339

SPEC_VERSION = "1.0"
JSON_CONTENT = "application/json"


class InvalidBody(ValueError):
    """A ``jsonBody: true`` source got a value that is not JSON; Argo drops such a message."""


@dataclass(frozen=True)
class EventContext:
    id: str
    source: str  # the EventSource's name
    type: str  # the event source type: kafka, calendar
    subject: str  # the event's name inside its EventSource
    time: datetime
    specversion: str = SPEC_VERSION
    datacontenttype: str = JSON_CONTENT

    def as_json(self) -> dict[str, Any]:
        """The context as ``contextKey`` paths see it (``json.Marshal`` of Argo's EventContext)."""
        return {"id": self.id, "source": self.source, "specversion": self.specversion,
                "type": self.type, "datacontenttype": self.datacontenttype,
                "subject": self.subject, "time": rfc3339(self.time)}


@dataclass(frozen=True)
class Event:
    """One event: ``data`` is the decoded event data (a dict for Kafka and calendar sources)."""

    context: EventContext
    data: Any

    def data_text(self) -> str:
        """The event data as the JSON bytes Argo carries (Go field order, compact)."""
        return gojson.dumps(self.data)

    def whole_json(self) -> str:
        """``json.Marshal(event)``: the context and the data bytes base64-encoded (a ``[]byte``).

        This is what a payload parameter with neither key, template nor value resolves to.
        """
        data = base64.b64encode(self.data_text().encode()).decode()
        return gojson.dumps({"context": self.context.as_json(), "data": data})


def _text(raw: bytes | None) -> str:
    # Go's string(bytes) keeps the bytes; encoding/json then writes invalid UTF-8 as U+FFFD.
    return "" if raw is None else raw.decode("utf-8", errors="replace")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_json_body(value: bytes | None) -> Any:
    """The body of a ``jsonBody: true`` source: decoded JSON, or ``InvalidBody``."""
    if value is None:
        return None  # a nil json.RawMessage marshals as null
    try:
        return json.loads(value.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidBody(f"value is not JSON: {exc}") from exc


def kafka_event_data(*, topic: str, partition: int, key: bytes | None, value: bytes | None,
                     timestamp_ms: int, headers: Sequence[tuple[str, bytes | None]] | None,
                     json_body: bool, metadata: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``KafkaEventData`` of one message, as a dict in Go's field order."""
    if json_body:
        body: Any = decode_json_body(value)
    else:
        body = None if value is None else base64.b64encode(value).decode()
    merged: dict[str, str] = {}
    for name, raw in headers or ():
        merged[name] = _text(raw)
    data: dict[str, Any] = {
        "topic": topic,
        "key": _text(key),
        "partition": partition,
        "body": body,
        "timestamp": go_time_string(from_epoch_ms(timestamp_ms)),
        "headers": dict(sorted(merged.items())),  # a Go map marshals with sorted keys
    }
    if metadata:
        data["metadata"] = dict(sorted(metadata.items()))
    return data


def kafka_event_id(event_source: str, event_name: str, url: str, topic: str, partition: int,
                   offset: int) -> str:
    """Argo's Kafka event ID: ``source:event:first-url:topic:partition:offset``."""
    return f"{event_source}:{event_name}:{url.split(',')[0]}:{topic}:{partition}:{offset}"


def kafka_event(*, event_source: str, event_name: str, url: str, topic: str, partition: int,
                offset: int, key: bytes | None, value: bytes | None, timestamp_ms: int,
                headers: Sequence[tuple[str, bytes | None]] | None, json_body: bool,
                now: datetime, metadata: Mapping[str, str] | None = None) -> Event:
    data = kafka_event_data(topic=topic, partition=partition, key=key, value=value,
                            timestamp_ms=timestamp_ms, headers=headers, json_body=json_body,
                            metadata=metadata)
    context = EventContext(id=kafka_event_id(event_source, event_name, url, topic, partition, offset),
                           source=event_source, type="kafka", subject=event_name, time=now)
    return Event(context, data)


def calendar_event(*, event_source: str, event_name: str, fired_at: datetime, event_id: str,
                   metadata: Mapping[str, str] | None = None) -> Event:
    """A calendar tick; ``fired_at`` is aware, in the source's time zone (Argo prints it so)."""
    data: dict[str, Any] = {"eventTime": go_time_string(fired_at)}
    if metadata:
        data["metadata"] = dict(sorted(metadata.items()))
    context = EventContext(id=event_id, source=event_source, type="calendar", subject=event_name,
                           time=fired_at)
    return Event(context, data)
