"""Rows -> storable tuples: every value converted to its column's type before any write.

Converting up front is what lets one bad row be rejected with a reason while the rest of its
batch is written: the database never sees a value it could refuse for its type. The limits
are the strictest of the two backends (64-bit integers, finite doubles, no NUL in text or
JSON, valid UTF-8) so a row accepted here is accepted by SQLite and PostgreSQL alike.

Values come out canonical and backend-neutral: ``str``, ``int``, ``float``, ``bool``, JSON
text, an aware UTC ``datetime`` or a finite ``Decimal``; each backend adapts the few that it
stores differently. A number keeps its digits wherever its column can hold them: a DECIMAL
column takes it as written, a JSON column writes it back as written.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..outrecord import exact_json_text
from .columns import INT64_MAX, INT64_MIN, Column, ColumnType
from .errors import RejectedRow, SchemaConflict

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")  # JSON's grammar
_TRUE_TEXT = frozenset({"true", "t", "1", "yes"})
_FALSE_TEXT = frozenset({"false", "f", "0", "no"})


class ConversionError(ValueError):
    """A value that cannot be stored in its column; the message is the reason."""


def _check_text(text: str) -> str:
    if "\x00" in text:
        raise ConversionError("contains a NUL character")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ConversionError("is not valid Unicode (lone surrogate)") from None
    return text


def to_text(value: object) -> str:
    """Strings as they are; any other JSON value as its compact JSON text."""
    return _check_text(value) if isinstance(value, str) else to_json(value)


def to_integer(value: object) -> int:
    """Integers, integral floats and integer text, within 64 bits; never booleans."""
    if type(value) is int and INT64_MIN <= value <= INT64_MAX:  # the common case, first
        return value
    if isinstance(value, bool):
        raise ConversionError("is a boolean, not an integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        value = int(value.strip())
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if not isinstance(value, int):
        raise ConversionError(f"{_show(value)} is not an integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ConversionError(f"{value} is outside the 64-bit integer range")
    return value


def to_real(value: object) -> float:
    """Numbers and numeric text as a finite double; never booleans, NaN or infinities."""
    if type(value) is float and math.isfinite(value):  # the common case, first
        return value
    if isinstance(value, bool):
        raise ConversionError("is a boolean, not a number")
    try:
        # A Decimal too: the column is a double, and the table is the truth about its type.
        number = float(value) if isinstance(value, (int, float, str, Decimal)) else math.nan
    except (ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise ConversionError(f"{_show(value)} is not a finite number")
    return number


def to_decimal(value: object) -> Decimal:
    """Any finite number as a Decimal with its digits: integers of any size, Decimals, floats
    (as the shortest text that reads back as them, the text JSON has) and JSON number text."""
    kind = type(value)
    if kind is Decimal and value.is_finite():  # type: ignore[union-attr]
        return value  # type: ignore[return-value]
    if kind is int:
        return Decimal(value)  # type: ignore[arg-type]
    if kind is float and math.isfinite(value):  # type: ignore[arg-type]
        return Decimal(repr(value))
    if kind is str and _NUMBER_TEXT.fullmatch(value.strip()):  # type: ignore[union-attr]
        try:
            return Decimal(value.strip())  # type: ignore[union-attr]
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            pass
    raise ConversionError(f"{_show(value)} is not a finite number")


def to_boolean(value: object) -> bool:
    """Booleans, 0/1, and the usual words (true/false, t/f, yes/no; any letter case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_TEXT:
            return True
        if word in _FALSE_TEXT:
            return False
    raise ConversionError(f"{_show(value)} is not a boolean")


# One encoder for every call: json.dumps with non-default options builds a new one each time.
_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def to_json(value: object) -> str:
    """Any JSON value as compact text with sorted keys (stable, so replays compare equal)."""
    try:
        text = _JSON.encode(value)
    except TypeError:  # a Decimal in it (or no JSON at all): the exact writer decides
        try:
            text = exact_json_text(value, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError) as error:
            raise ConversionError(f"is not JSON-serialisable ({error})") from None
    except ValueError as error:
        raise ConversionError(f"is not JSON-serialisable ({error})") from None
    if "\\u0000" in text:
        raise ConversionError("contains a NUL character")  # PostgreSQL jsonb refuses \u0000
    return _check_text(text)


def to_timestamp(value: object) -> dt.datetime:
    """An ISO 8601 date-time (or date) as an aware UTC datetime; naive means UTC."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ConversionError(f"{_show(value)} is not an ISO 8601 date-time") from None
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise ConversionError(f"{_show(value)} is not an ISO 8601 date-time string")
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


CONVERTERS: Mapping[ColumnType, Callable[[object], object]] = {
    ColumnType.TEXT: to_text,
    ColumnType.INTEGER: to_integer,
    ColumnType.REAL: to_real,
    ColumnType.BOOLEAN: to_boolean,
    ColumnType.JSON: to_json,
    ColumnType.TIMESTAMP: to_timestamp,
    ColumnType.DECIMAL: to_decimal,
}


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class ConvertedBatch:
    """Rows ready to write (one tuple per distinct key, in column order) and the rejected rows."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[object, ...], ...]
    rejected: tuple[RejectedRow, ...]


def row_converter(columns: Sequence[Column], key_column: str) -> Callable[[object], tuple[object, ...]]:
    """A function turning one row into a tuple in column order; raises `ConversionError`
    naming the column.

    Missing fields are NULL (an upsert replaces the whole row, so an absent optional field is
    cleared rather than left stale); fields without a column are ignored; the key is required.
    The per-column plan is resolved once here, not once per value: this loop is the hot path
    of every load.
    """
    plan = tuple((column.name, CONVERTERS[column.type], column.name == key_column) for column in columns)

    def convert(row: object) -> tuple[object, ...]:
        if type(row) is not dict and not isinstance(row, Mapping):
            raise ConversionError(f"row: must be an object, got {type(row).__name__}")
        get = row.get  # type: ignore[union-attr]
        values: list[object] = []
        for name, converter, is_key in plan:
            value = get(name)
            if value is None:
                if is_key:
                    raise ConversionError(f"column {name!r} (the key): missing")
                values.append(None)
                continue
            try:
                values.append(converter(value))
            except ConversionError as error:
                raise ConversionError(f"column {name!r}: {error}") from None
        return tuple(values)

    return convert


def convert_rows(columns: Sequence[Column], key_column: str, rows: Sequence[object]) -> ConvertedBatch:
    """Convert a batch; a duplicate key keeps its last convertible occurrence.

    Duplicates are collapsed here, before the write, because PostgreSQL refuses one statement
    touching a row twice and SQLite would silently apply them in order: collapsing gives both
    backends the same last-occurrence-wins result. Output order is the first position of each
    key, so it is deterministic.
    """
    columns = tuple(columns)
    names = [column.name for column in columns]
    if key_column not in names:
        raise SchemaConflict(f"key column {key_column!r}: not a column of the table ({', '.join(names)})")
    key_position = names.index(key_column)
    convert = row_converter(columns, key_column)
    by_key: dict[object, tuple[object, ...]] = {}
    rejected: list[RejectedRow] = []
    for index, row in enumerate(rows):
        try:
            converted = convert(row)
        except ConversionError as error:
            rejected.append(RejectedRow(index, str(error), row))
            continue
        by_key[converted[key_position]] = converted
    return ConvertedBatch(columns, tuple(by_key.values()), tuple(rejected))
