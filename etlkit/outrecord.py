"""A record on its way to Kafka, laid out as docs/contracts.md says (pure: no client here)."""
from __future__ import annotations

import json
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii
from typing import Any, Callable, NamedTuple

try:
    from orjson import Fragment as _OrjsonFragment, dumps as _orjson_dumps
except ImportError:  # a function that does not ship it (the sources) encodes with the stdlib
    _orjson_dumps = None  # type: ignore[assignment]


class OutRecord(NamedTuple):
    """A record on its way to Kafka. Immutable, and a tuple rather than a dataclass: one is made
    for every output record of every batch, and a tuple is the cheapest record Python builds."""

    topic: str
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None
    # The partition to write to (modulo the topic's count), or None: by key (etlkit/wire.py).
    # A step's outputs keep their input's partition, so event time stays ordered per partition.
    partition: int | None = None


_tuple_new = tuple.__new__


def out_record(topic: str, value: bytes, key: bytes | None,
               headers: tuple[tuple[str, bytes], ...], timestamp_ms: int | None,
               partition: int | None = None) -> OutRecord:
    """``OutRecord(topic, value, key, headers, timestamp_ms, partition)`` without the keyword
    handling of the generated constructor, for a hot loop."""
    return _tuple_new(OutRecord, (topic, value, key, headers, timestamp_ms, partition))


def _stdlib_encoder() -> Callable[[Any], bytes]:
    """Compact UTF-8 JSON, as ``json.dumps(value, separators=(",", ":")).encode()`` writes it.

    ``json.dumps`` with options builds a JSONEncoder per call, and JSONEncoder.encode walks
    Python code before reaching the C encoder; calling the C encoder made once (no circular
    reference check: values decoded from JSON have none) costs half as much per record.
    """
    if c_make_encoder is None:  # a Python built without the _json accelerator
        encode = json.JSONEncoder(separators=(",", ":")).encode
        return lambda value: encode(value).encode()
    encoder = c_make_encoder(None, json.JSONEncoder().default, encode_basestring_ascii, None,
                             ":", ",", False, False, True)
    return lambda value: "".join(encoder(value, 0)).encode()


stdlib_json_bytes = _stdlib_encoder()


def decimal_text(value: Decimal) -> str:
    """A Decimal as a JSON number, with exactly its digits (``str`` keeps them: ``1.50``,
    ``1E+400``); NaN and infinities, which JSON has not, raise ValueError.

    Decimals are how etlkit.http reads the numbers a double cannot hold (a 30-digit decimal,
    ``1e400``); writing them back digit for digit is what makes them reach the warehouse.
    """
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    return str(value)


def exact_json_text(value: Any, *, sort_keys: bool = False, ensure_ascii: bool = True) -> str:
    """Compact JSON text of a value holding Decimals (and anything the stdlib writes).

    The slow path, in Python: taken only for the rare value that holds a Decimal, which neither
    the stdlib's C encoder nor orjson can write by itself with its own digits.
    """
    quote = encode_basestring_ascii if ensure_ascii else encode_basestring
    plain = json.JSONEncoder(separators=(",", ":"), ensure_ascii=ensure_ascii, allow_nan=False).encode

    def write(item: Any, depth: int) -> str:
        if depth > 1000:
            raise ValueError("value nested deeper than 1000 levels")
        kind = type(item)
        if kind is str:
            return quote(item)
        if kind is dict or isinstance(item, dict):
            pairs = sorted(item.items()) if sort_keys else item.items()
            return "{" + ",".join(f"{quote(_key_text(k))}:{write(v, depth + 1)}" for k, v in pairs) + "}"
        if kind is list or kind is tuple:
            return "[" + ",".join(write(v, depth + 1) for v in item) + "]"
        if isinstance(item, Decimal):
            return decimal_text(item)
        return plain(item)  # null, booleans, ints, floats, and the stdlib's own refusals

    return write(value, 0)


def compact_json_text(value: Any, *, sort_keys: bool = False, ensure_ascii: bool = True) -> str:
    """``json.dumps(value, separators=(",", ":"), ...)``, and the same text with a Decimal's
    digits where the value holds one (etlkit.http reads a number a double cannot hold as a
    Decimal, and an ingested record, a registered schema or an answer may carry it on)."""
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    except TypeError:
        return exact_json_text(value, sort_keys=sort_keys, ensure_ascii=ensure_ascii)


def _key_text(key: Any) -> str:
    """An object key as text, as the stdlib makes one (a number or constant key as its JSON)."""
    if isinstance(key, str):
        return key
    if isinstance(key, Decimal):
        return decimal_text(key)
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _orjson_default(value: Any) -> Any:
    # orjson calls this for what it cannot write: a Decimal goes in as its own digits.
    if isinstance(value, Decimal):
        return _OrjsonFragment(decimal_text(value).encode())
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _json_bytes_with(orjson_dumps: Callable[..., bytes] | None) -> Callable[[Any], bytes]:
    def stdlib_then_exact(value: Any) -> bytes:
        try:
            return stdlib_json_bytes(value)
        except TypeError:  # a Decimal somewhere in it: the exact (slow) writer
            return exact_json_text(value).encode()

    if orjson_dumps is None:
        return stdlib_then_exact

    def orjson_first(value: Any) -> bytes:
        try:
            return orjson_dumps(value, default=_orjson_default)
        except TypeError:  # orjson refuses it: the stdlib writes it (or raises) as it always did
            return stdlib_then_exact(value)
    return orjson_first


# ``json_bytes(value)``: compact UTF-8 JSON, what a record's (or dead letter's) Kafka value holds.
# orjson, where the function ships it, writes it ten times faster than the stdlib: after reading
# the batch, the biggest cost per record of a step function. Its text differs only where JSON
# allows (raw UTF-8 rather than \u escapes, 1e-7 rather than 1e-07: the same values once read),
# and NaN, which no step lets into a value, would be null rather than the stdlib's invalid NaN.
# What it refuses (integers past 64 bits, nesting past 254 levels, lone surrogates, keys that
# are not text) goes to the stdlib encoder, and what the stdlib cannot write (a Decimal beside
# an integer past 64 bits) to exact_json_text. A Decimal keeps its digits on every path.
json_bytes = _json_bytes_with(_orjson_dumps)


def json_record(topic: str, value: dict, key: str | None, source: str,
                event_time_ms: int) -> OutRecord:
    """JSON value, UTF-8 key, `etl-source` and `etl-event-time` headers, event-time timestamp."""
    return OutRecord(topic=topic, value=compact_json_text(value).encode(),
                     key=key.encode() if key is not None else None,
                     headers=(("etl-source", source.encode()),
                              ("etl-event-time", str(event_time_ms).encode())),
                     timestamp_ms=event_time_ms)
