"""Events as a Sensor receives them: a CloudEvents context and the event source's data.

Shapes follow argo-events: ``pkg/eventsources/events/event-data.go`` (``KafkaEventData``,
``CalendarEventData``), ``pkg/eventsources/sources/kafka/start.go`` (how a Kafka message becomes
that data) and ``pkg/eventsources/eventing.go`` (the CloudEvents context). Pure: the caller gives
the message fields and the current time.

Kafka event data, in Go's field order: ``topic``, ``key`` (text), ``partition`` (int), ``body``
(the message value: every source has ``jsonBody: true``, the one kind the renderer writes; null
for a null value), ``timestamp`` (``Time.String()`` of the message time, UTC here) and
``headers`` (text to text, last duplicate wins); ``metadata`` never, since the renderer sets none
(:mod:`.manifests` refuses it). Calendar: ``eventTime`` (``Time.String()``).

Per message, as Argo: the value is checked to be JSON (:func:`check_body`) and its text carried
(:class:`Event`); it is decoded, as Go would read it, only for a parameter that reads inside it.
"""
from __future__ import annotations

import codecs
import json
import re
import threading
from datetime import datetime, timezone
from typing import Any, NamedTuple, Sequence

import orjson

from . import gjson, gojson
from .gotime import go_time_string, rfc3339, utc_time_string_of_ms
from .yamlnode import unsupported

SPEC_VERSION = "1.0"
JSON_CONTENT = "application/json"


class InvalidBody(ValueError):
    """A ``jsonBody: true`` source got a value that is not JSON; Argo drops such a message."""


class EventContext(NamedTuple):  # tuples: one of each per message, so cheap to make
    id: str
    source: str  # the EventSource's name
    type: str  # the event source type: kafka, calendar
    subject: str  # the event's name inside its EventSource
    time: datetime
    specversion: str = SPEC_VERSION
    datacontenttype: str = JSON_CONTENT

    def as_json(self) -> dict[str, Any]:
        """``json.Marshal`` of Argo's EventContext (checked against the real one; no emitted
        parameter reads it: ``contextKey`` is refused)."""
        return {"id": self.id, "source": self.source, "specversion": self.specversion,
                "type": self.type, "datacontenttype": self.datacontenttype,
                "subject": self.subject, "time": rfc3339(self.time)}


_UNDECODED = object()  # an Event's data not decoded yet


class Event:
    """One event: ``data`` is the decoded event data (a dict for Kafka and calendar sources).

    A Kafka event keeps its message value as it came (``body_text``), checked to be JSON and no
    more, as Argo does: its EventSource passes the value on as a ``json.RawMessage``
    (argo-events ``pkg/eventsources/sources/kafka/start.go``, ``jsonBody``), which
    ``json.Marshal`` only compacts. So the event data's text (:meth:`data_text`) is that value
    spliced in, never a re-encoding, and the body is decoded (``data``) only when a parameter
    reads inside it or a template prints ``.Input``: a step's invocation (``@this``) and a dead
    letter (``body``, ``topic``, ``key``, ``partition``) never do (:meth:`get`).
    """

    __slots__ = ("context", "body_text", "_fields", "_text_fields", "_data", "_duplicates", "_text")

    def __init__(self, context: EventContext, data: Any):
        self.context, self.body_text, self._data = context, None, data
        self._fields = self._text_fields = self._text = None
        self._duplicates = False

    @classmethod
    def _kafka(cls, context: EventContext, fields: dict[str, Any], text_fields: dict[str, Any] | None,
               body_text: bytes | None) -> "Event":
        """``fields``: the event data with ``"body": None`` (each invalid UTF-8 byte of the key or
        a header read back as U+FFFD); ``text_fields`` the same with those bytes kept apart
        (_RUNE_ERROR), or None when there are none."""
        event = cls.__new__(cls)
        event.context, event.body_text, event._data = context, body_text, _UNDECODED
        event._fields, event._text_fields, event._text = fields, text_fields, None
        event._duplicates = False
        return event

    @property
    def data(self) -> Any:
        if self._data is _UNDECODED:
            body, self._duplicates = _decode_body(self.body_text)
            self._data = {**self._fields, "body": body}
        return self._data

    @property
    def duplicate_keys(self) -> bool:
        """Whether some object of the body has a key twice (a gjson path may go through any)."""
        return self.data is not None and self._duplicates

    def source(self) -> gjson.Source:
        """The data's JSON text for gjson lookups that read it (raw blocks, duplicate keys)."""
        return gjson.Source(self.data_text, decode_fragment, self.duplicate_keys)

    def data_text(self) -> str:
        """The event data as the JSON text Argo carries (Go field order, compact); each invalid
        UTF-8 byte of the body a surrogate (surrogateescape), to be written back as that byte."""
        if self._text is None:
            self._text = self._data_text()
        return self._text

    def _data_text(self) -> str:
        if self._fields is None:
            return gojson.dumps(self._data)
        fields = self._fields if self._text_fields is None else self._text_fields
        head, tail = gojson.dumps(fields).split('"body":null', 1)
        text = f'{head}"body":{_body_text(self.body_text)}{tail}'
        return text if self._text_fields is None else text.replace(_RUNE_ERROR, "\\ufffd")

    def get(self, path: gjson.GetPath) -> gjson.Result | None:
        """gjson's lookup of ``path`` in the event data (``getValueByKey``); ``@this``, a
        block ``body`` and the message's own fields come off the text, the body undecoded."""
        if self._fields is not None:
            parts = path.parts
            if not parts:
                return gjson.Result(gjson.UNDECODED, self.data_text())
            if len(parts) == 1 and parts[0] in _MESSAGE_FIELDS:
                return gjson.get(self._fields, path)
            if parts == _BODY_PATH and self.body_text is not None:
                body = _body_text(self.body_text)
                if body[0] in "{[":  # a block: gjson's raw text (a scalar's kind needs decoding)
                    return gjson.Result(gjson.UNDECODED, body)
        return gjson.get(self.data, path, self.source())


_MESSAGE_FIELDS = frozenset({"topic", "key", "partition", "timestamp"})
_BODY_PATH = ("body",)


def _body_text(value: bytes | None) -> str:
    """A checked body's text as ``json.Marshal`` writes its ``json.RawMessage`` (:func:`go_compact`)."""
    if value is None:
        return "null"  # a nil json.RawMessage
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:  # Go keeps the bytes: surrogateescape gives them back
        text = value.decode("utf-8", "surrogateescape")
    return go_compact(text)


# A JSON string (the loop unrolled), else a run of white space: the sub keeps the strings only.
_STRING_OR_SPACE = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|[ \t\n\r]+')
# White space beside a structural character. Outside strings, white space sits between tokens, one
# of which is structural (two values are never adjacent), or at either end: no match and ends
# that are not white space mean any white space is inside strings, where it stays.
_SPACE_BY_STRUCTURE = re.compile(r'[{}\[\]:,][ \t\n\r]|[ \t\n\r][{}\[\]:,]')


def go_compact(text: str) -> str:
    """Valid JSON text as ``json.Marshal`` writes a ``json.RawMessage`` (Go's ``appendCompact``
    with escaping): white space out, ``<>&`` and U+2028/U+2029 escaped (only strings hold them),
    everything else (number spellings, escapes, duplicate keys, invalid UTF-8) as it came.

    Already compact text, what our producers write, costs a few substring scans and no copy."""
    if (" " in text or "\n" in text or "\t" in text or "\r" in text) and (
            text[0] in _JSON_SPACE or text[-1] in _JSON_SPACE or _SPACE_BY_STRUCTURE.search(text)):
        text = _STRING_OR_SPACE.sub(r"\1", text)  # an unmatched group is "": the space goes
    return gojson.escape_html(text)


_RUNE_ERROR = "\udfff"  # a lone surrogate: never in decoded UTF-8, so it marks one invalid byte
codecs.register_error("faas-etl-go-rune-error", lambda exc: (_RUNE_ERROR, exc.start + 1))


def _text(raw: bytes | None) -> str:
    """Go's ``string(bytes)`` as encoding/json will write it: each byte of invalid UTF-8 (one by
    one, as utf8.DecodeRune steps) becomes _RUNE_ERROR, written ``\\ufffd``, read back U+FFFD."""
    if raw is None:
        return ""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="faas-etl-go-rune-error")


def _read_back(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as Argo reads its JSON text: every _RUNE_ERROR a U+FFFD."""
    data = dict(data)
    data["key"] = data["key"].replace(_RUNE_ERROR, "\ufffd")
    data["headers"] = {k: v.replace(_RUNE_ERROR, "\ufffd") for k, v in data["headers"].items()}
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _Numbers(threading.local):
    """Set by the decoder's number hooks while one body is decoded (per thread)."""

    go_only = False  # a number whose Go text the C encoder would not write


_numbers = _Numbers()


def _float64(text: str) -> float | int:
    """A JSON number with a fraction or exponent, as Go will print it once decoded to float64.

    An integral value (``4.0``, ``1e3``) prints without a fraction in Go, so it becomes an int
    here (exact below 2**53). Any other value Python's repr writes as Go does (shortest digits,
    no exponent) between 1e-4 and 1e16; outside that (and -0.0) only :mod:`.gojson` can.
    """
    number = float(text)
    if number.is_integer():
        if abs(number) < gojson.EXACT_INT and (number or not text.startswith("-")):
            return int(number)
        _numbers.go_only = True  # -0.0, and from 2**53 on Python writes "9007199254740992.0"
    elif not 1e-4 <= abs(number) < 1e16:
        _numbers.go_only = True
    return number


def _int64(text: str) -> int:
    if len(text) > 15:  # may pass 2**53, where Go prints the float64 it rounded to
        _numbers.go_only = True
    return int(text)


# One decoder, not one per message (json.loads with arguments builds a new one each call).
_BODY = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_float64, parse_int=_int64)
_scan = _BODY.scan_once
_JSON_SPACE = " \t\n\r"
_new = tuple.__new__  # makes a NamedTuple without its Python-level __new__: one per message


def _decode_body(value: bytes | None) -> tuple[Any, bool]:
    """A ``jsonBody: true`` source's body decoded (``InvalidBody`` if it is not JSON; orjson when
    every number in it is plain, :func:`_plain`, else the hooks) and whether some object has a key
    twice (decoded: the first of each, as gjson reads it).

    Numbers keep their value; integral ones written with a fraction become ints (Go holds every
    number as a float64 and prints ``4.0`` as ``4``, so no payload or filter can tell).
    """
    if value is None:
        return None, False  # a nil json.RawMessage marshals as null
    body, plain = fast_body(value)
    if not plain:
        body, _ = _decode_with_hooks(value)
    if _has_duplicate_keys(value, body):
        return _decode_with_hooks(value, _FIRST_WINS)[0], True
    return body, False


def decode_fragment(text: str) -> Any:
    """A value's JSON text out of the event data decoded as the body was (gjson's reading)."""
    return _decode_body(text.encode("utf-8", "surrogateescape"))[0]


# A JSON string (the loop unrolled: several times faster), and whether an object key (a ':' follows).
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"[ \t\n\r]*(:?)')


def _has_duplicate_keys(value: bytes, body: Any) -> bool:
    """Whether some object of the text has a key twice: fewer keys decoded than written.

    Argo reads such an object with gjson, where the *first* of the duplicates wins (in filters,
    keys and ``.Input`` alike), while Python's decoders keep the last. Written keys <= colons, and
    decoded keys <= written keys: the cheap counts settle the common record.
    """
    kind = type(body)
    if kind is not dict and kind is not list:
        return False
    top = len(body) if kind is dict else 0
    if value.count(b":") == top:
        return False
    written = _STRINGS.findall(value).count(b":")
    return written != top and written != _decoded_keys(body)


def _decoded_keys(value: Any) -> int:
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            count += len(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return count


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, item in pairs:
        obj.setdefault(key, item)
    return obj


_FIRST_WINS = json.JSONDecoder(object_pairs_hook=_first_wins, parse_constant=_reject_constant,
                               parse_float=_float64, parse_int=_int64)


def fast_body(value: bytes) -> tuple[Any, bool]:
    """The body decoded by orjson, and True, when every number in it is plain (:func:`_plain`):
    then it holds the values :func:`_decode_with_hooks` gives, several times faster (a test
    compares them on random records). ``(None, False)`` for anything else (not JSON, a number Go
    prints otherwise, text orjson refuses), which the hooks decode or refuse.
    """
    try:
        decoded = orjson.loads(value)
    except (orjson.JSONDecodeError, RecursionError):
        return None, False
    return (decoded, True) if _plain((decoded,)) else (None, False)


def _decode_with_hooks(value: bytes, decoder: json.JSONDecoder | None = None) -> tuple[Any, bool]:
    """:func:`_decode_body` of any body, numbers through the hooks (_float64, _int64)."""
    decoder = decoder or _BODY
    _numbers.go_only = False
    try:
        try:
            text, invalid_utf8 = value.decode("utf-8"), False
        except UnicodeDecodeError:
            # Go takes it (json.Valid checks no UTF-8): the bytes stay in the event data as they
            # came; here each invalid byte is a surrogate (surrogateescape), which gojson writes
            # as \ufffd where Go's json.Marshal does, and raw text gives back as the byte.
            text, invalid_utf8 = value.decode("utf-8", "surrogateescape"), True
        if "\\u" in text and _SURROGATE_ESCAPE.search(text):
            text = _JSON_STRING.sub(_gjson_surrogates, text)
        try:  # the C scanner straight away (JSONDecoder.decode adds two regex passes per call)
            body, end = decoder.scan_once(text, 0)
        except StopIteration:  # not a value at 0: maybe leading white space; decode says why
            body, end = decoder.decode(text), len(text)
        if end != len(text) and text[end:].strip(_JSON_SPACE):
            body = decoder.decode(text)  # raises "Extra data", as json.loads would
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidBody(f"value is not JSON: {exc}") from exc
    return body, not (_numbers.go_only or invalid_utf8)  # not plain: orjson refuses surrogates


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_STRING_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def _gjson_surrogates(match: re.Match) -> str:
    """A JSON string's UTF-16 escapes as gjson's unescape reads them: a surrogate escape and the
    ``\\u`` escape right after it are one rune (U+FFFD unless a high and a low surrogate); a
    surrogate escape alone is U+FFFD. Python would keep lone surrogates (not text, not Go's)."""
    text = match.group(0)
    if not _SURROGATE_ESCAPE.search(text):
        return text
    out, last, escapes = [], 0, list(_STRING_ESCAPE.finditer(text))
    skip = False
    for n, escape in enumerate(escapes):
        if skip:
            skip = False
            continue
        code = int(escape.group(1), 16) if escape.group(1) else None
        if code is None or not 0xD800 <= code <= 0xDFFF:
            continue
        following = escapes[n + 1] if n + 1 < len(escapes) else None
        end = escape.end()
        if following is not None and following.start() == end and following.group(1):
            second = int(following.group(1), 16)
            skip = True
            if 0xD800 <= code <= 0xDBFF and 0xDC00 <= second <= 0xDFFF:
                continue  # a valid pair: Python decodes it alike
            end = following.end()
        out.append(text[last:escape.start()] + "\\ufffd")
        last = end
    return "".join(out) + text[last:]


def _plain(values: Any) -> bool:
    """No number in ``values`` (a dict's values or a list) whose text changes once Go holds it as
    a float64 (what _float64 and _int64 turn into ints or flag): no integral float, none outside
    [1e-4, 1e16), no int past 2**53."""
    for value in values.values() if type(values) is dict else values:
        kind = type(value)
        if kind is str or value is None or kind is bool:
            continue
        if kind is float:
            if value.is_integer() or not 1e-4 <= abs(value) < 1e16:
                return False
        elif kind is int:
            if not -gojson.EXACT_INT < value < gojson.EXACT_INT:
                return False
        elif not _plain(value):  # a dict or a list
            return False
    return True


def kafka_event_data(*, topic: str, partition: int, key: bytes | None, value: bytes | None,
                     timestamp_ms: int, headers: Sequence[tuple[str, bytes | None]] | None,
                     json_body: bool = True) -> dict[str, Any]:
    """``KafkaEventData`` of one message, as a dict in Go's field order."""
    events = KafkaEvents(event_source="", event_name="", url="", json_body=json_body)
    return events.data(topic, partition, key, value, timestamp_ms, headers)


def _id_prefix(event_source: str, event_name: str, url: str) -> str:
    return f"{event_source}:{event_name}:{url.split(',')[0]}"


def kafka_event_id(*, event_source: str, event_name: str, url: str, topic: str, partition: int,
                   offset: int) -> str:
    """The id Argo gives the event of one Kafka message (``genUniqueID`` in argo-events
    ``pkg/eventsources/sources/kafka/start.go``): the identity of a plain message's input
    (docs/contracts.md), which the audit and the replay work out as the steps saw it."""
    return f"{_id_prefix(event_source, event_name, url)}:{topic}:{partition}:{offset}"


class KafkaEvents:
    """Builds the events of one Kafka event source event; what is the same for all its messages
    (the ID prefix) is worked out once, since every message passes here."""

    def __init__(self, *, event_source: str, event_name: str, url: str, json_body: bool = True):
        if not json_body:  # the base64 body of jsonBody: false; manifests.py refuses it too
            raise ValueError(f"jsonBody: {unsupported('jsonBody: true')}")
        self.event_source, self.event_name = event_source, event_name
        self._id_prefix = _id_prefix(event_source, event_name, url)

    def data(self, topic: str, partition: int, key: bytes | None, value: bytes | None, timestamp_ms: int,
             headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, Any]:
        """The event data (decoded, as a Sensor reads it)."""
        return self.event(topic, partition, 0, key, value, timestamp_ms, headers, _EPOCH).data

    def event(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
              timestamp_ms: int, headers: Sequence[tuple[str, bytes | None]] | None, now: datetime) -> Event:
        """One message's event; ``InvalidBody`` when a ``jsonBody`` value is not JSON (checked,
        not decoded: :func:`check_body`)."""
        if value is not None:
            check_body(value)
        merged: dict[str, str] = {}
        for name, raw in headers or ():
            merged[name] = _text(raw)
        fields: dict[str, Any] = {
            "topic": topic,
            "key": _text(key),
            "partition": partition,
            "body": None,  # the value's text goes here (Event.data_text)
            "timestamp": utc_time_string_of_ms(timestamp_ms),
            "headers": dict(sorted(merged.items())) if len(merged) > 1 else merged,  # Go sorts map keys
        }
        text_fields = None
        if _has_rune_errors(fields):
            text_fields, fields = fields, _read_back(fields)
        context = _new(EventContext, (f"{self._id_prefix}:{topic}:{partition}:{offset}", self.event_source,
                                      "kafka", self.event_name, now, SPEC_VERSION, JSON_CONTENT))
        return Event._kafka(context, fields, text_fields, value)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def check_body(value: bytes) -> None:
    """``InvalidBody`` unless ``value`` is JSON as Go's ``json.Valid`` takes it (what
    ``json.Marshal`` of the ``json.RawMessage`` checks in argo-events
    ``pkg/eventsources/sources/kafka/start.go``). orjson answers the usual value, in C; what it
    refuses Go may still take (invalid UTF-8 inside strings, lone UTF-16 surrogate escapes,
    numbers beyond float64's range), so the stdlib decoder, as :func:`_decode_with_hooks` runs
    it, judges those."""
    try:
        orjson.loads(value)
    except (orjson.JSONDecodeError, RecursionError):
        _decode_with_hooks(value)


def _has_rune_errors(data: dict[str, Any]) -> bool:
    return _RUNE_ERROR in data["key"] or any(_RUNE_ERROR in v for v in data["headers"].values())


def kafka_event(*, event_source: str, event_name: str, url: str, topic: str, partition: int,
                offset: int, key: bytes | None, value: bytes | None, timestamp_ms: int,
                headers: Sequence[tuple[str, bytes | None]] | None, json_body: bool = True,
                now: datetime) -> Event:
    events = KafkaEvents(event_source=event_source, event_name=event_name, url=url, json_body=json_body)
    return events.event(topic, partition, offset, key, value, timestamp_ms, headers, now)


def calendar_event(*, event_source: str, event_name: str, fired_at: datetime, event_id: str,
                   uptime_s: float | None = None) -> Event:
    """A calendar tick at ``fired_at`` (aware).

    ``eventTime`` is what the real listener writes for a tick (``calendar/start.go``): the
    ``time.Time`` its timer delivered, ``time.Now()``, so the process's zone (a pod's: UTC, not
    the source's ``timezone``) and the monotonic reading Go prints after it, ``m=+<seconds since
    the process started>`` (``uptime_s``), as argo-conformance shows.
    """
    event_time = go_time_string(fired_at.astimezone(timezone.utc))
    if uptime_s is not None:
        event_time += f" m=+{uptime_s:.9f}"
    data: dict[str, Any] = {"eventTime": event_time}
    context = EventContext(id=event_id, source=event_source, type="calendar", subject=event_name,
                           time=fired_at)
    return Event(context, data)
