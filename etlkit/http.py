"""Helpers for handlers: parse a JSON body, answer JSON as text (python3-http contract)."""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal

from .outrecord import compact_json_text

try:
    from orjson import JSONDecodeError as _OrjsonError, dumps as _orjson_dumps, loads as _orjson_loads
except ImportError:  # a function that does not ship it reads with the stdlib alone
    _orjson_loads = None  # type: ignore[assignment]


class BadRequest(ValueError):
    """Bad input: answered 400 (or `status`) with a message naming the field and the rule."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def json_response(status: int, doc: object, headers: dict[str, str] | None = None) -> dict:
    # JSON as text with a Content-Type, so the answer is the same under the stock template.
    return {"statusCode": status, "body": compact_json_text(doc),
            "headers": {"Content-Type": "application/json", **(headers or {})}}


def query_flag(query: dict, name: str) -> bool:
    """A yes/no query parameter: ``true`` or ``false`` (absent: false); anything else is a
    BadRequest naming it, rather than a typo read as false."""
    value = query.get(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise BadRequest(f"{name}: true or false, got {value!r}")


def whole_number(value: object, field: str) -> int:
    """A whole number given as a JSON integer or as ASCII digits (a query parameter, a path
    part); anything else, ``'٣'`` and ``'²'`` included (str.isdigit takes both, int() only
    the first), is a BadRequest naming ``field``."""
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise BadRequest(f"{field}: a whole number (digits 0-9), got {value!r}")


def database_url(reference: object, field: str) -> str:
    """The database URL a step's ``url`` reference names (``env:NAME``, ``secret:name`` or a
    URL: etlkit/warehouse/url.py). A reference that is not text, or a URL that is not a
    database URL, is the caller's: 400 naming ``field``. A reference to a variable or secret
    that holds nothing is the deployment's: 500, which the Sensor retries."""
    from .warehouse.url import DatabaseUrlError, parse_database_url, resolve_reference

    if not isinstance(reference, str) or not reference.strip():
        raise BadRequest(f"{field}: env:NAME, secret:name or a database URL, got {reference!r}")
    try:
        url = resolve_reference(reference, field)
    except DatabaseUrlError as exc:
        raise BadRequest(str(exc), status=500) from None
    given = not reference.startswith(("env:", "secret:"))
    try:
        parse_database_url(url, field)
    except DatabaseUrlError as exc:
        raise BadRequest(str(exc), status=400 if given else 500) from None
    return url


def error_response(exc: BadRequest) -> dict:
    return json_response(exc.status, {"error": str(exc)})


def _not_json(constant: str) -> float:
    # Python reads NaN and Infinity; JSON has neither, and every other reader (Go's, so Argo
    # Events', PostgreSQL's jsonb) refuses them: let them in and they break a stage downstream.
    raise ValueError(f"{constant} is not a JSON number")


def parse_json_body(body: bytes, field: str = "body") -> object:
    """The JSON value of ``body``, every number exact: integers as ``int`` (any size), other
    numbers as ``float`` when the float writes back as the same number (``json_bytes`` writes a
    float's shortest text), else as ``Decimal`` with the digits given (a 30-digit decimal,
    ``1e400``). So a number leaves a step function as it came (issue 15, "Exact values").
    """
    if not body:
        raise BadRequest(f"{field}: required, a JSON document")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{field}: not valid UTF-8 (byte {exc.start})") from None
    if _orjson_loads is not None:
        # orjson reads a step function's batch in half the time; on what it refuses (NaN,
        # lone surrogates, deep nesting, any mistake) or may have changed, the stdlib below
        # decides and explains.
        try:
            value = _orjson_loads(body)
        except _OrjsonError:
            pass
        else:
            if _read_exactly(body, value):
                return value
    try:
        return json.loads(text, parse_float=exact_number, parse_constant=_not_json)
    except RecursionError:
        raise BadRequest(f"{field}: nested too deeply") from None
    except ValueError as exc:
        raise BadRequest(f"{field}: not valid JSON ({exc})") from None


def exact_number(text: str) -> float | Decimal:
    """A JSON number with a fraction or an exponent: the float if it writes back as the same
    number, else the Decimal of its text (the stdlib's ``parse_float``)."""
    number = float(text)
    if len(text) <= 15 and "e" not in text and "E" not in text:
        return number  # at most 15 digits, no exponent: a double holds it (DBL_DIG is 15)
    if math.isfinite(number) and Decimal(repr(number)) == Decimal(text):
        return number  # repr() is the text json_bytes writes for the float: the same number
    return Decimal(text)


def _read_exactly(body: bytes, value: object) -> bool:
    """Whether orjson read every number of ``body`` as the number it is (``value`` is its read).

    orjson reads integers within 64 bits (signed or unsigned) exactly, every other number as the
    nearest double. Only a long run of digits (16 or more, the point included: a double holds 15
    digits) or a 3-digit exponent can be a number it changed; finding one costs a tenth of what
    orjson saves. When there is one, orjson writes ``value`` back: if the digits of the body
    come back in the same order, every number was read as written (a float's own shortest text,
    such as an average's 2.3433333333333333, is what Python, Go and orjson write). A changed
    number changes its digits; so may a harmless spelling (``1.50``, ``1e-07``), which the
    stdlib then reads, exactly, at its own pace.
    """
    marks = body.translate(_NUMBER_MARKS)
    if _LONG_RUN not in marks and b"e000" not in marks and b"e+000" not in marks:
        return True
    try:
        written = _orjson_dumps(value)
    except TypeError:  # deeper than orjson writes: let the stdlib read it
        return False
    if b"\\u" in body:  # \uXXXX escapes: orjson writes the characters, without those digits
        body = _UNICODE_ESCAPE.sub(b"", body)
    return written.translate(None, _NOT_DIGITS) == body.translate(None, _NOT_DIGITS)


# Digits and the point as "0", an exponent's letter as "e", its sign as "+": "1.5e-400" is
# "000e+000", and 16 digits in a row are "0" * 16, found by a bytes search.
_NUMBER_MARKS = bytes(
    ord("0") if chr(byte) in "0123456789." else ord("e") if chr(byte) in "eE"
    else ord("+") if chr(byte) in "+-" else ord(" ") for byte in range(256))
_LONG_RUN = b"0" * 16
_NOT_DIGITS = bytes(byte for byte in range(256) if not ord("0") <= byte <= ord("9"))
_UNICODE_ESCAPE = re.compile(rb"\\u[0-9a-fA-F]{4}")
