"""What the SQLite and PostgreSQL warehouses share: validation, column cache, conversion, retries.

A backend supplies only its SQL (`_ensure`, `_introspect`, `_write`, `_count`), its error
classification (`_classify`) and its connection hygiene (`_after_failure`). Everything a caller
can observe (which rows are rejected and why, last-occurrence-wins, the returned counts, the
error kinds) is decided here once, so both backends behave alike by construction.
"""
from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from .applied import AppliedMark
from .columns import Column, ColumnType, columns_to_add, with_key_column
from .convert import ConvertedBatch, convert_rows
from .errors import AlreadyApplied, BadDataError, WarehouseError, WarehouseUnavailable
from .identifiers import check_identifier, quote

T = TypeVar("T")


def update_assignments(columns: Sequence[Column], key_column: str) -> str:
    """``"a" = excluded."a", ...`` for every non-key column ('' for a key-only table)."""
    return ", ".join(f"{quote(c.name)} = excluded.{quote(c.name)}" for c in columns if c.name != key_column)


def on_conflict_clause(
    table: str, columns: Sequence[Column], key_column: str, distinct: Callable[[str, Column], str]
) -> str:
    """``ON CONFLICT (key) DO UPDATE ... WHERE <something changed>``, or DO NOTHING.

    The WHERE skips rows whose stored values already equal the incoming ones, so replaying a
    batch rewrites nothing (no dead tuples, no WAL, no page writes). ``distinct(target, column)``
    renders "the stored and the incoming value of this column differ" in the backend's dialect.
    """
    assignments = update_assignments(columns, key_column)
    if not assignments:
        return f"ON CONFLICT ({quote(key_column)}) DO NOTHING"
    changed = " OR ".join(distinct(quote(table, "table"), c) for c in columns if c.name != key_column)
    return f"ON CONFLICT ({quote(key_column)}) DO UPDATE SET {assignments} WHERE {changed}"


def column_list(columns: Sequence[Column]) -> str:
    return ", ".join(quote(column.name) for column in columns)


def create_table_statement(
    table: str, columns: Sequence[Column], key_column: str, sql_types: Mapping[ColumnType, str]
) -> str:
    """``CREATE TABLE`` with the key as NOT NULL primary key and every other column nullable
    (so later schema versions can add optional columns to a table that already has rows)."""
    definitions = ", ".join(
        f"{quote(c.name)} {sql_types[c.type]}" + (" NOT NULL PRIMARY KEY" if c.name == key_column else "")
        for c in columns
    )
    return f"CREATE TABLE {quote(table, 'table')} ({definitions})"


class SqlWarehouse(abc.ABC):
    """Base of the two backends; implements the `Warehouse` protocol over a few SQL hooks.

    Thread-safe: one lock serialises the operations of an instance (a function replica may
    serve requests on several threads, and neither connection type may be shared unguarded).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._columns: dict[str, tuple[Column, ...]] = {}
        self._applied_table_ready = False

    # --- the Warehouse protocol --------------------------------------------------------

    def ensure_table(self, table: str, columns: Sequence[Column], key_column: str) -> tuple[Column, ...]:
        """Create ``table`` with ``key_column`` as primary key, or add the columns it lacks.

        Returns the table's columns as stored (an existing column keeps its type). Cheap when
        nothing changed: the answer comes from a per-instance cache without a round trip.
        """
        check_identifier(table, "table")
        wanted = with_key_column(columns, key_column)
        with self._lock:
            cached = self._columns.get(table)
            if cached is not None and not columns_to_add(cached, wanted):
                return cached
            actual = self._call(table, lambda: self._ensure(table, wanted, key_column))
            self._columns[table] = actual
            return actual

    def upsert(
        self,
        table: str,
        key_column: str,
        rows: Sequence[Mapping[str, object]],
        *,
        applied: AppliedMark | None = None,
        probe: bool = False,
    ) -> int:
        """Insert or replace ``rows`` by ``key_column`` in one transaction.

        Every row is converted to the column types first; if any cannot be, `BadDataError`
        lists them all (index and reason) and nothing is written. A key repeated in the batch
        keeps its last occurrence. Fields without a column are ignored, missing ones stored as
        NULL. Returns the number of distinct keys written.

        ``applied``: the input's identity, recorded in the same transaction (etlkit/warehouse/
        applied.py); if it was recorded before, nothing is written and `AlreadyApplied` is
        raised. A mark with no rows is still recorded (a batch whose every row was rejected is
        applied too). ``probe``: write, then roll back: whether the database accepts the rows,
        without keeping them (how `load_batch` finds the rows it refuses).
        """
        check_identifier(table, "table")
        check_identifier(key_column, "key column")
        with self._lock:
            columns = self._table_columns(table)
            batch = convert_rows(columns, key_column, rows)
            if batch.rejected:
                raise BadDataError(
                    f"{len(batch.rejected)} of {len(rows)} rows cannot be stored in {table!r}", batch.rejected
                )
            if applied is not None and not self._applied_table_ready:
                self._call(table, self._ensure_applied_table)
                self._applied_table_ready = True
            if batch.rows or applied is not None:
                fresh = self._call(table, lambda: self._write(table, key_column, batch, applied, probe))
                if not fresh:
                    assert applied is not None
                    raise AlreadyApplied(applied.consumer, applied.batch_id)
            return len(batch.rows)

    def count(self, table: str) -> int:
        """Number of rows in ``table``."""
        check_identifier(table, "table")
        with self._lock:
            return self._call(table, lambda: self._count(table))

    # --- shared machinery ----------------------------------------------------------------

    def _table_columns(self, table: str) -> tuple[Column, ...]:
        columns = self._columns.get(table)
        if columns is None:
            columns = self._call(table, lambda: self._introspect(table))
            if columns is None:
                raise WarehouseError(f"table {table!r}: does not exist (call ensure_table first)")
            self._columns[table] = columns
        return columns

    def _call(self, table: str, operation: Callable[[], T]) -> T:
        """Run a database operation, translating driver errors into the warehouse's kinds.

        Every operation is idempotent, so one immediate retry is safe; it is taken only when
        the backend says the failure came from a connection that had gone stale while idle
        (e.g. the server restarted between two batches).
        """
        for attempt in (1, 2):
            try:
                return operation()
            except Exception as error:
                translated = self._classify(error)
                stale = self._after_failure()
                self._columns.pop(table, None)  # the table may have changed under us
                if translated is None:
                    raise
                if isinstance(translated, WarehouseUnavailable) and stale and attempt == 1:
                    continue
                raise translated from error
        raise AssertionError("unreachable")  # pragma: no cover

    # --- backend hooks -------------------------------------------------------------------

    @abc.abstractmethod
    def _introspect(self, table: str) -> tuple[Column, ...] | None:
        """The table's columns in their stored order, or None if there is no such table."""

    @abc.abstractmethod
    def _ensure(self, table: str, wanted: tuple[Column, ...], key_column: str) -> tuple[Column, ...]:
        """In one transaction: create the table or add the missing columns; return the columns."""

    @abc.abstractmethod
    def _write(
        self, table: str, key_column: str, batch: ConvertedBatch, applied: AppliedMark | None, probe: bool
    ) -> bool:
        """Upsert the converted rows in one transaction, after inserting ``applied`` (if any).

        Returns False, having written nothing, when ``applied`` was there already. ``probe``:
        roll the transaction back instead of committing it.
        """

    @abc.abstractmethod
    def _ensure_applied_table(self) -> None:
        """Create ``faas_etl_applied`` if it does not exist (safe against concurrent replicas)."""

    @abc.abstractmethod
    def _count(self, table: str) -> int: ...

    @abc.abstractmethod
    def _classify(self, error: Exception) -> WarehouseError | None:
        """The warehouse error for a driver error, or None for errors that are not the driver's."""

    @abc.abstractmethod
    def _after_failure(self) -> bool:
        """Clean up after a failed operation; True if the connection had gone stale."""

