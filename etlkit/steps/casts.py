"""Casts between JSON value types, as the ``map`` step and the ``string()``/``number()`` functions
use them. Each cast returns the converted value or raises :class:`CastError` with the reason.

Rules worth knowing:

* ``null`` casts to ``null`` (as SQL's ``CAST(NULL AS ...)``); a step that needs a value says so.
* ``bool`` is never silently a number, and a number with a fractional part never silently an int.
* Number text is ASCII JSON-like text (``42``, ``-1.5e3``); Python extras such as ``1_000`` or
  non-ASCII digits are refused, so a cast means the same thing in every reader of the data.
* A ``Decimal`` is a number a double cannot hold, read exactly (etlkit.http): ``str`` gives its
  digits, ``int`` takes it when integral, ``float`` rounds it to the nearest double (asked for).
  :func:`to_number` (the ``number()`` function) reads number text the same exact way.
* ``timestamp`` is epoch milliseconds (the unit of the ``etl-event-time`` header): from an
  ISO-8601 text (no offset means UTC) or from a number already in epoch milliseconds.
  ``timestamp_iso`` renders the same instant as ``YYYY-MM-DDTHH:MM:SS.mmmZ``.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Callable

from ..http import exact_number
from ..outrecord import decimal_text
from .failures import RecordError
from .numbers import MAX_DIGITS
from .values import json_text, type_name

_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_TRUE_TEXT = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE_TEXT = frozenset({"false", "f", "no", "n", "0", "off"})
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)


class CastError(RecordError):
    """A value cannot be converted to the requested type."""


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else _json_or_repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _json_or_repr(value: Any) -> str:
    try:
        return json_text(value)
    except RecordError:
        return repr(value)


def _refuse(value: Any, target: str, why: str = "") -> CastError:
    suffix = f" ({why})" if why else ""
    return CastError(f"cannot cast {type_name(value)} {_show(value)} to {target}{suffix}")


def to_int(value: Any) -> int | None:
    """Cast to an integer: integral numbers and integral number text; refuses ``3.5``."""
    kind = type(value)
    if value is None or kind is int:
        return value
    if kind is float:
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise _refuse(value, "int", "not an integral number")
    if kind is str:
        number = _number_text(value, "int")
        if number is not None:
            return to_int(number)
    if kind is Decimal:
        if value.is_finite() and value == value.to_integral_value():
            if value.adjusted() >= MAX_DIGITS:  # an int that size costs seconds to build
                raise _refuse(value, "int", f"more than {MAX_DIGITS} digits")
            return int(value)
        raise _refuse(value, "int", "not an integral number")
    raise _refuse(value, "int")


def to_number(value: Any) -> int | float | Decimal | None:
    """A number as it is; number text read exactly, as etlkit.http reads JSON: an int, else a
    float when it writes the text's number back, else the Decimal of the text. Other text is
    refused as the ``float`` cast refuses it (the reason dead letters of ``number()`` carry)."""
    kind = type(value)
    if value is None or kind is int or kind is float or kind is Decimal:
        return value
    if kind is str:
        text = value.strip()
        if _INT_TEXT.fullmatch(text):
            return _number_text(value, "float")
        if _NUMBER_TEXT.fullmatch(text):
            return exact_number(text)  # a float only when finite and exact: 1e999 is a Decimal
    raise _refuse(value, "float")


def to_float(value: Any) -> float | None:
    """Cast to a finite float: numbers and number text; refuses NaN and infinities."""
    kind = type(value)
    if value is None:
        return None
    if kind is float:
        if math.isfinite(value):
            return value
        raise _refuse(value, "float", "not a finite number")
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            raise _refuse(value, "float", "out of the float range") from None
    if kind is str:
        number = _number_text(value, "float")
        if number is not None:
            return to_float(number)
    if kind is Decimal:
        number = float(value)  # the nearest double
        if math.isfinite(number):
            return number
        raise _refuse(value, "float", "out of the float range")
    raise _refuse(value, "float")


def _number_text(value: str, target: str) -> int | float | None:
    """The number written in ``value`` (an int for integer text, else a finite float), or None
    when it is not number text at all."""
    text = value.strip()
    if _INT_TEXT.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # beyond Python's digit limit for int()
            raise _refuse(value, target, "too many digits") from None
    if not _NUMBER_TEXT.fullmatch(text):
        return None
    number = float(text)
    if not math.isfinite(number):
        raise _refuse(value, target, "out of the float range")
    return number


def to_str(value: Any) -> str | None:
    """Cast to text: numbers as JSON writes them, ``true``/``false``, lists and objects as JSON."""
    kind = type(value)
    if value is None or kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        if not math.isfinite(value):
            raise _refuse(value, "str", "not a finite number")
        return repr(value)
    if kind is Decimal and value.is_finite():
        return decimal_text(value)  # its digits, as JSON has them
    try:
        return json_text(value)
    except RecordError:
        raise _refuse(value, "str") from None


def to_bool(value: Any) -> bool | None:
    """Cast to a bool: ``true/false, yes/no, y/n, t/f, on/off, 1/0`` (any case) and numbers 0/1."""
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is str:
        text = value.strip().lower()
        if text in _TRUE_TEXT:
            return True
        if text in _FALSE_TEXT:
            return False
    elif (kind is int or kind is float or kind is Decimal) and value in (0, 1):
        return value == 1
    raise _refuse(value, "bool")


def to_timestamp_ms(value: Any) -> int | None:
    """Cast to epoch milliseconds: from ISO-8601 text (UTC when no offset) or a number of ms."""
    kind = type(value)
    if value is None:
        return None
    if kind is int:
        return value
    if kind is float:
        if math.isfinite(value):
            return math.floor(value)
        raise _refuse(value, "timestamp", "not a finite number")
    if kind is Decimal:
        # Past 10**20 ms (three billion years) no instant; a Decimal never rounds through a double.
        if value.is_finite() and value.adjusted() < 20:
            return int(value.to_integral_value(rounding=ROUND_FLOOR))
        raise _refuse(value, "timestamp", "not epoch milliseconds")
    if kind is str:
        known = _TEXT_MS.get(value)
        if known is not None:
            return known
        # Number text never holds a ":", a date-time always does: skip two regex matches.
        number = _number_text(value, "timestamp") if ":" not in value else None
        if number is not None:
            return to_timestamp_ms(number)
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _refuse(value, "timestamp", "expected ISO-8601 text or epoch milliseconds") from None
        millis = epoch_ms(moment)
        if len(_TEXT_MS) >= _TEXT_MS_KEPT:
            _TEXT_MS.clear()
        _TEXT_MS[value] = millis
        return millis
    raise _refuse(value, "timestamp")


# Date-time texts already read: records of one batch repeat a few seconds' worth of them (a map
# casting ordered_at, an aggregate's time_field), and parsing one costs ten dictionary lookups.
# Cleared when full.
_TEXT_MS: dict[str, int] = {}
_TEXT_MS_KEPT = 4096


def epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds of ``moment`` (naive means UTC), floored, in exact integer arithmetic."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _ONE_MS


def to_timestamp_iso(value: Any) -> str | None:
    """Cast to ISO-8601 UTC text with milliseconds, e.g. ``2024-05-01T12:00:00.250Z``."""
    millis = to_timestamp_ms(value)
    if millis is None:
        return None
    try:
        moment = _EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        raise _refuse(value, "timestamp_iso", "outside years 1-9999") from None
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z")


CASTS: dict[str, Callable[[Any], Any]] = {
    "int": to_int,
    "float": to_float,
    "str": to_str,
    "bool": to_bool,
    "timestamp": to_timestamp_ms,
    "timestamp_iso": to_timestamp_iso,
}
