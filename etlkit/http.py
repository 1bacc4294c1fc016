"""Helpers for handlers: parse a JSON body, answer JSON as text (python3-http contract)."""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal

try:
    from orjson import JSONDecodeError as _OrjsonError, loads as _orjson_loads
except ImportError:  # a function that does not ship it reads with the stdlib alone
    _orjson_loads = None  # type: ignore[assignment]


class BadRequest(ValueError):
    """Bad input: answered 400 (or `status`) with a message naming the field and the rule."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def json_response(status: int, doc: object, headers: dict[str, str] | None = None) -> dict:
    # JSON as text with a Content-Type, so the answer is the same under the stock template.
    return {"statusCode": status, "body": json.dumps(doc, separators=(",", ":")),
            "headers": {"Content-Type": "application/json", **(headers or {})}}


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
    if _orjson_loads is not None and _orjson_reads_exactly(body):
        # orjson reads a step function's batch in half the time; on what it refuses (NaN,
        # lone surrogates, deep nesting, any mistake) the stdlib below decides and explains.
        try:
            return _orjson_loads(body)
        except _OrjsonError:
            pass
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
    return number if _same_number(text, number) else Decimal(text)


def _same_number(text: str, number: float) -> bool:
    # repr() is the text json_bytes writes for the float: the same number, or not.
    return math.isfinite(number) and Decimal(repr(number)) == Decimal(text)


def _orjson_reads_exactly(body: bytes) -> bool:
    """Whether orjson reads every number of ``body`` as the number it is.

    orjson reads integers within 64 bits (signed or unsigned) exactly, every other number as the
    nearest double. Only a long run of digits (16 or more, the point included: a double holds 15
    digits) or a 3-digit exponent can be a number it changes; finding one costs a tenth of what
    orjson saves. Each such run is then checked: a float's own shortest text (``0.1 + 0.2``'s
    ``0.30000000000000004``) reads back exactly, and digits inside a string are no number at all.
    """
    marks = body.translate(_NUMBER_MARKS)
    if _LONG_RUN not in marks and b"e000" not in marks and b"e+000" not in marks:
        return True
    for match in _SUSPECT_NUMBER.finditer(body):
        token = match.group().decode("ascii")
        if _INTEGER.fullmatch(token):
            if not _ORJSON_INT_MIN <= int(token) <= _ORJSON_INT_MAX:
                return False
            continue
        try:
            number = float(token)
        except ValueError:  # "1.2.3.4..." inside a string: no number
            continue
        if not _same_number(token, number):
            return False
    return True


# Digits and the point as "0", an exponent's letter as "e", its sign as "+": "1.5e-400" is
# "000e+000", and 16 digits in a row are "0" * 16, found by a bytes search.
_NUMBER_MARKS = bytes(
    ord("0") if chr(byte) in "0123456789." else ord("e") if chr(byte) in "eE"
    else ord("+") if chr(byte) in "+-" else ord(" ") for byte in range(256))
_LONG_RUN = b"0" * 16
_SUSPECT_NUMBER = re.compile(
    rb"-?[0-9][0-9.]{15,}(?:[eE][-+]?[0-9]+)?|-?[0-9][0-9.]*[eE][-+]?[0-9]{3,}")
_INTEGER = re.compile(r"-?[0-9]+")
_ORJSON_INT_MIN, _ORJSON_INT_MAX = -(2**63), 2**64 - 1
