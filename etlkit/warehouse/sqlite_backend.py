"""SQLite warehouse: stdlib sqlite3, WAL journal, one ``BEGIN IMMEDIATE`` transaction per batch.

``executemany`` of ``INSERT ... ON CONFLICT(key) DO UPDATE`` is SQLite's fastest batched upsert
(one prepared statement, no round trips). ``BEGIN IMMEDIATE`` takes the write lock up front, so
several replicas writing one file queue on the busy timeout instead of failing on a lock
upgrade. ``synchronous=FULL``: a committed batch survives a power loss, which matters because
the caller commits Kafka offsets once the batch is written.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from contextlib import contextmanager

from .applied import AppliedMark, create_applied_table, insert_mark
from .columns import Column, ColumnType, columns_to_add
from ..outrecord import decimal_text
from .convert import ConvertedBatch
from .errors import BadDataError, WarehouseError, WarehouseUnavailable
from .identifiers import quote
from .sql_base import SqlWarehouse, column_list, create_table_statement, on_conflict_clause

# Declared types. JSON and timestamps contain "TEXT" so SQLite gives them TEXT affinity (a bare
# "JSON" would get NUMERIC affinity and turn the JSON text '12' into the integer 12), while the
# first word still tells a reader, and `_type_of`, what the column holds.
SQLITE_TYPES = {
    ColumnType.TEXT: "TEXT",
    ColumnType.INTEGER: "INTEGER",
    ColumnType.REAL: "REAL",
    ColumnType.BOOLEAN: "BOOLEAN",
    ColumnType.JSON: "JSON TEXT",
    ColumnType.TIMESTAMP: "TIMESTAMP TEXT",
    ColumnType.DECIMAL: "DECIMAL TEXT",
}
_FROM_DECLARED = {declared: kind for kind, declared in SQLITE_TYPES.items()}
_INSERT_MARK = insert_mark("qmark")
_RETRYABLE_MESSAGES = ("locked", "busy", "disk i/o", "unable to open", "disk is full")


def _type_of(declared: str) -> ColumnType:
    """Our type for a declared SQLite type, by SQLite's own affinity rules for foreign tables."""
    upper = declared.upper()
    if upper in _FROM_DECLARED:
        return _FROM_DECLARED[upper]
    if "INT" in upper:
        return ColumnType.INTEGER
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return ColumnType.REAL
    return ColumnType.TEXT


def _changed(target: str, column: Column) -> str:
    return f"{target}.{quote(column.name)} IS NOT excluded.{quote(column.name)}"


def timestamp_text(value: dt.datetime) -> str:
    """UTC ISO 8601 with microseconds: fixed width, so text order is time order."""
    return value.isoformat(timespec="microseconds")


# SQLite has no exact type for numbers past 64 bits or 15 digits (REAL is a double): a DECIMAL
# column has TEXT affinity and keeps the number's JSON text, digit for digit.
_AS_TEXT: dict[ColumnType, Callable[[Any], str]] = {
    ColumnType.TIMESTAMP: timestamp_text, ColumnType.DECIMAL: decimal_text}


class SqliteWarehouse(SqlWarehouse):
    """A warehouse in one SQLite file (or ``:memory:``)."""

    def __init__(self, path: str, *, busy_timeout_s: float = 30.0) -> None:
        super().__init__()
        self.path = path
        try:
            self._db = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as error:
            raise (self._classify(error) or error) from error

    def __repr__(self) -> str:
        return f"SqliteWarehouse({self.path!r})"

    def close(self) -> None:
        """Close the database file. Safe to call twice."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self, commit: bool = True) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT" if commit else "ROLLBACK")
        except BaseException:
            if self._db.in_transaction:  # also after a failed COMMIT (disk full, I/O error)
                self._db.execute("ROLLBACK")
            raise

    def _introspect(self, table: str) -> tuple[Column, ...] | None:
        info = self._db.execute(f"PRAGMA table_info({quote(table, 'table')})").fetchall()
        if not info:
            return None
        return tuple(Column(name, _type_of(declared)) for _, name, declared, *_ in info)

    def _ensure(self, table: str, wanted: tuple[Column, ...], key_column: str) -> tuple[Column, ...]:
        with self._transaction() as db:
            existing = self._introspect(table)
            if existing is None:
                db.execute(create_table_statement(table, wanted, key_column, SQLITE_TYPES))
            else:
                for column in columns_to_add(existing, wanted):  # SQLite adds one column per statement
                    definition = f"{quote(column.name)} {SQLITE_TYPES[column.type]}"
                    db.execute(f"ALTER TABLE {quote(table, 'table')} ADD COLUMN {definition}")
            actual = self._introspect(table)
        assert actual is not None
        return actual

    def _ensure_applied_table(self) -> None:
        self._db.execute(create_applied_table({"text": "TEXT", "integer": "INTEGER"}))

    def _write(
        self, table: str, key_column: str, batch: ConvertedBatch, applied: AppliedMark | None, probe: bool
    ) -> bool:
        columns = batch.columns
        placeholders = ", ".join("?" for _ in columns)
        conflict = on_conflict_clause(table, columns, key_column, _changed)
        statement = f"INSERT INTO {quote(table, 'table')} ({column_list(columns)}) VALUES ({placeholders}) {conflict}"
        with self._transaction(commit=not probe) as db:
            # BEGIN IMMEDIATE holds the write lock: no other writer can insert the same mark
            # between this insert and the commit.
            if applied is not None and db.execute(_INSERT_MARK, applied.values).rowcount == 0:
                return False  # nothing was written: the commit ends an empty transaction
            if batch.rows:
                db.executemany(statement, _adapted(batch.rows, _positions(columns)))
        return True

    def _count(self, table: str) -> int:
        (count,) = self._db.execute(f"SELECT COUNT(*) FROM {quote(table, 'table')}").fetchone()
        return int(count)

    def _classify(self, error: Exception) -> WarehouseError | None:
        if isinstance(error, (sqlite3.IntegrityError, sqlite3.DataError, OverflowError, UnicodeEncodeError)):
            return BadDataError(f"SQLite refused the batch: {error}")
        if isinstance(error, sqlite3.OperationalError) and any(m in str(error).lower() for m in _RETRYABLE_MESSAGES):
            return WarehouseUnavailable(f"SQLite {self.path!r}: {error}")
        if isinstance(error, sqlite3.Error):
            return WarehouseError(f"SQLite {self.path!r}: {error}")
        return None

    def _after_failure(self) -> bool:
        return False  # a local file has no connection to go stale


def _positions(columns: Sequence[Column]) -> tuple[tuple[int, Callable[[Any], str]], ...]:
    """Where a converted row holds a value sqlite3 cannot bind as it is, and how to write it."""
    return tuple((i, _AS_TEXT[column.type]) for i, column in enumerate(columns) if column.type in _AS_TEXT)


def _adapted(rows: Sequence[tuple[object, ...]],
             positions: tuple[tuple[int, Callable[[Any], str]], ...]) -> Iterator[tuple[object, ...]]:
    """Rows with datetimes and decimals as text (sqlite3's implicit datetime adapter is
    deprecated, and it has none for Decimal)."""
    if not positions:
        yield from rows
        return
    for row in rows:
        values = list(row)
        for position, as_text in positions:
            if values[position] is not None:
                values[position] = as_text(values[position])
        yield tuple(values)
