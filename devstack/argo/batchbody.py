"""A batch request body built in one pass, for the payload every step invocation uses.

The general batch path (:func:`.dispatch.merge_members`) builds each event's payload through the
template engine, parses it back and encodes the merged object again: three JSON passes and a
template run per event. Every Sensor this project renders has the same payload: constant text
around ONE ``{{ toJson .Input }}`` whose value is the envelope's ``event`` key. For that shape the
merged body is the envelope's text with ``"events": [toJson of each event's data]`` in place of
``"event"``, so :class:`Envelope` precomputes the text before and after the array and encodes all
the events' data in one call.

The result is byte for byte what the general path gives (a test checks it on random events;
the one difference: a ``-0`` keeps its sign here, as in Go, where the general path's re-parse
drops it). orjson (or, for what it refuses, the C encoder) writes Go's text except for the HTML
characters, which one replace pass escapes (they occur only inside JSON strings), and some
numbers: the decoder already turned integral floats into ints and marked an event whose numbers
Python would write otherwise (:attr:`.events.Event.plain_numbers`); such an event alone goes
through :func:`.gojson.dumps`. When an event cannot be encoded at all, :meth:`Envelope.body`
answers None and the caller takes the general path, which dead-letters that event on its own.
Pure: no I/O.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import orjson

from . import gojson
from .events import Event
from .sensor_spec import HttpAction, Trigger

_SLOT = "\x00faas-etl:events\x00"
# What toJson .Input writes (sprig: json.Marshal of the decoded map, so sorted keys), minus
# Go's HTML escaping, which escape_html adds to the whole text at once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)


@dataclass(frozen=True)
class Envelope:
    """The merged body around the events array: ``head + "[e1,e2,...]" + tail``."""

    head: bytes
    tail: bytes

    def body(self, events: Sequence[Event]) -> bytes | None:
        """The batch request body, or None when some event's data is not JSON-encodable."""
        return self.wrap(events_array([e.data for e in events], [e.plain_numbers for e in events]))

    def wrap(self, array: bytes | None) -> bytes | None:
        """The body around an :func:`events_array` (None stays None)."""
        return None if array is None else self.head + array + self.tail


def events_array(datas: Sequence[Any], plain: Sequence[bool]) -> bytes | None:
    """``[toJson of each event's data]`` as Go writes it, or None when some data is not
    JSON-encodable. ``plain``: per data, whether its numbers are plain (:attr:`Event.plain_numbers`)."""
    if all(plain):
        try:  # orjson writes what the C encoder would, several times faster (a test compares)
            return _escape_html(orjson.dumps(datas, option=orjson.OPT_SORT_KEYS))
        except (TypeError, ValueError):  # e.g. a lone surrogate, or an int past 64 bits
            pass
    try:
        text = "[" + ",".join(map(_item, datas, plain)) + "]"
        return gojson.escape_html(text).encode()
    except (TypeError, ValueError):  # UnicodeEncodeError too: a lone surrogate in a string
        return None


def _item(data: Any, plain: bool) -> str:
    if not plain:
        return gojson.dumps(data, sort_keys=True, html=False, float64=True)
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    except (TypeError, ValueError):  # what orjson refuses, the C encoder may write (or raise)
        return _ENCODER.encode(data)


_HTML_BYTES = tuple((char.encode(), escaped.encode()) for char, escaped in gojson.HTML_ESCAPES.items())
_ASCII_HTML_BYTES = tuple((raw, escaped) for raw, escaped in _HTML_BYTES if raw.isascii())


def _escape_html(data: bytes) -> bytes:
    """:func:`.gojson.escape_html` on UTF-8 bytes. An all-ASCII text (most batches) cannot hold
    U+2028 or U+2029, whose three-byte searches cost twenty times the ASCII test."""
    for raw, escaped in _ASCII_HTML_BYTES if data.isascii() else _HTML_BYTES:
        if raw in data:
            data = data.replace(raw, escaped)
    return data


def _envelope_of(before: str, after: str) -> Envelope | None:
    """The envelope when ``before + <value> + after`` is a JSON object holding the value at its
    ``event`` key (and no ``events`` key, which merging would overwrite); else None."""
    try:
        zero, one = json.loads(before + "0" + after), json.loads(before + "1" + after)
    except ValueError:
        return None
    if not isinstance(zero, dict) or "events" in zero or zero.get("event") != 0 or one.get("event") != 1:
        return None
    if {**zero, "event": 1} != one:
        return None
    merged = {("events" if key == "event" else key): (_SLOT if key == "event" else value)
              for key, value in zero.items()}
    text = gojson.dumps(merged)
    head, tail = text.split(gojson.dumps(_SLOT))
    return Envelope(head.encode(), tail.encode())


@lru_cache(maxsize=256)
def envelope_of(trigger: Trigger) -> Envelope | None:
    """The fast-path envelope of an HTTP trigger whose whole payload is one ``dataTemplate``
    splicing ``toJson .Input`` into a JSON object at ``event``; None for any other payload."""
    action = trigger.action
    if not isinstance(action, HttpAction) or len(action.payload) != 1:
        return None
    param = action.payload[0]
    src = param.src
    if param.dest is not None or src.data_template is None or src.data_key is not None:
        return None
    splice = src.data_template.json_splice()
    return _envelope_of(*splice) if splice else None


def batch_body(trigger: Trigger, events: Sequence[Event]) -> bytes | None:
    """The one-pass body of ``trigger``'s batch request for ``events``; None: build it the
    general way (another payload shape, or an event that does not encode)."""
    envelope = envelope_of(trigger)
    return envelope.body(events) if envelope else None
