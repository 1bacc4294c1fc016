"""Table columns: their portable types and where they come from (a JSON Schema or the rows seen).

Seven portable types cover JSON records; each backend maps them to its own SQL type. Nested
objects and arrays, and values whose type is not one fixed scalar, are stored as JSON text
(``jsonb`` in PostgreSQL) so nothing is lost. A number a double cannot hold (etlkit.http reads
it as a ``Decimal``) or an integer past 64 bits makes a DECIMAL column: ``numeric`` in
PostgreSQL, the number's exact text in SQLite (which has no exact type that wide).
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .errors import SchemaConflict
from .identifiers import check_identifier


class ColumnType(enum.Enum):
    TEXT = "text"
    INTEGER = "integer"  # 64-bit signed
    REAL = "real"  # IEEE double
    BOOLEAN = "boolean"
    JSON = "json"  # any JSON value, stored as its compact text
    TIMESTAMP = "timestamp"  # ISO 8601 date-time, stored in UTC
    DECIMAL = "decimal"  # any finite number, exactly as written (integers of any size too)


@dataclass(frozen=True)
class Column:
    """One column: a checked identifier and a portable type."""

    name: str
    type: ColumnType

    def __post_init__(self) -> None:
        check_identifier(self.name, "column")
        if not isinstance(self.type, ColumnType):
            raise TypeError(f"column {self.name!r}: type must be a ColumnType, got {self.type!r}")


_SCHEMA_SCALARS = {
    "string": ColumnType.TEXT,
    "integer": ColumnType.INTEGER,
    "number": ColumnType.REAL,
    "boolean": ColumnType.BOOLEAN,
    "object": ColumnType.JSON,
    "array": ColumnType.JSON,
}


def type_of_schema(property_schema: object) -> ColumnType:
    """The column type for one property's JSON Schema (``null`` only makes it nullable)."""
    if not isinstance(property_schema, Mapping):
        return ColumnType.JSON  # `true` / `{}`-like schemas admit any value
    declared = property_schema.get("type")
    names = [declared] if isinstance(declared, str) else list(declared or [])
    non_null = [name for name in names if name != "null"]
    if len(non_null) != 1:
        return ColumnType.JSON  # no type, or a union of types: keep the value as it is
    (name,) = non_null
    if name == "string" and property_schema.get("format") == "date-time":
        return ColumnType.TIMESTAMP
    if name == "number" and property_schema.get("multipleOf") == 1:
        return ColumnType.INTEGER
    return _SCHEMA_SCALARS.get(name, ColumnType.JSON)


def columns_from_json_schema(schema: Mapping[str, object]) -> tuple[Column, ...]:
    """Columns for a topic's JSON Schema: one per top-level property, in declaration order.

    A property name that is not a safe identifier raises `InvalidIdentifier` naming it.
    """
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        raise SchemaConflict("schema.properties: must be an object mapping field names to schemas")
    return tuple(Column(name, type_of_schema(sub)) for name, sub in properties.items())


def type_of_value(value: object) -> ColumnType | None:
    """The column type a single JSON value suggests; None for null (it suggests nothing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return ColumnType.BOOLEAN
    if isinstance(value, int):
        return ColumnType.INTEGER if INT64_MIN <= value <= INT64_MAX else ColumnType.DECIMAL
    if isinstance(value, float):
        return ColumnType.REAL
    if isinstance(value, Decimal) and value.is_finite():
        return ColumnType.DECIMAL
    if isinstance(value, str):
        return ColumnType.TEXT
    return ColumnType.JSON


def _widen(seen: ColumnType | None, new: ColumnType | None) -> ColumnType | None:
    """The type covering both; None stands for "only nulls so far"."""
    if seen is None:
        return new
    if new is None or new == seen:
        return seen
    pair = {seen, new}
    if pair == {ColumnType.INTEGER, ColumnType.REAL}:
        return ColumnType.REAL
    if pair <= _NUMBERS:  # a DECIMAL with an integer or a float: numeric holds both exactly
        return ColumnType.DECIMAL
    return ColumnType.JSON  # disagreeing types: JSON keeps every value faithfully


def columns_from_rows(rows: Iterable[Mapping[str, object]]) -> tuple[Column, ...]:
    """Columns inferred from the rows seen (no schema): in first-seen field order.

    Integers mixed with floats give REAL, either mixed with decimals DECIMAL; any other mix
    gives JSON; a field only ever null gives TEXT.
    """
    seen: dict[str, ColumnType | None] = {}
    for row in rows:
        for name, value in row.items():
            kind = _EXACT_TYPES.get(type(value), _OTHER)
            if kind is _OTHER or (kind is ColumnType.INTEGER and not INT64_MIN <= value <= INT64_MAX):
                kind = type_of_value(value)  # a subclass, a list, an object, a wide integer
            if kind is not seen.get(name, _OTHER):  # most fields keep their type: no widening
                seen[name] = _widen(seen.get(name), kind)
    return tuple(Column(name, kind or ColumnType.TEXT) for name, kind in seen.items())


# type_of_value for the exact JSON scalar types, looked up once per value of every row.
_EXACT_TYPES: dict[type, ColumnType | None] = {
    type(None): None, bool: ColumnType.BOOLEAN, int: ColumnType.INTEGER, float: ColumnType.REAL,
    str: ColumnType.TEXT}
_OTHER: object = object()
_NUMBERS = frozenset({ColumnType.INTEGER, ColumnType.REAL, ColumnType.DECIMAL})
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def with_key_column(columns: Sequence[Column], key_column: str) -> tuple[Column, ...]:
    """``columns`` with the key column first; a key absent from them becomes TEXT (record keys are text)."""
    check_identifier(key_column, "key column")
    key = next((column for column in columns if column.name == key_column), Column(key_column, ColumnType.TEXT))
    return (key, *(column for column in columns if column.name != key_column))


def columns_to_add(existing: Sequence[Column], wanted: Sequence[Column]) -> tuple[Column, ...]:
    """The wanted columns the table lacks, in wanted order.

    Existing columns keep their type (the table is the truth for data already stored). A name
    that differs from an existing one only by letter case is a `SchemaConflict`: SQLite
    treats them as one column and PostgreSQL as two, and the warehouse must behave the same
    on both.
    """
    by_folded = {column.name.casefold(): column.name for column in existing}
    additions: list[Column] = []
    for column in wanted:
        present = by_folded.get(column.name.casefold())
        if present is None:
            additions.append(column)
            by_folded[column.name.casefold()] = column.name
        elif present != column.name:
            raise SchemaConflict(
                f"column {column.name!r}: differs only in letter case from existing column {present!r}"
            )
    return tuple(additions)
