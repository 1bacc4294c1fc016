"""PostgreSQL warehouse: psycopg 3, one ``executemany`` of ``INSERT ... ON CONFLICT`` per batch.

psycopg sends an ``executemany`` in pipeline mode (libpq >= 14): every row's statement goes out
without waiting for the previous answer, so a batch costs about one round trip, not one per
row. Chosen by measurement (bench/bench_warehouse.py prints both bare paths): COPY into a
session staging table then ``INSERT ... SELECT`` ranged 0.66x-1.5x of the pipeline with one
target table, and fell to 0.2x-0.5x when one session writes several tables, because every
``ON COMMIT DELETE ROWS`` staging table of a session is truncated at each of its commits; a
staging table per batch would instead churn the catalog. The pipeline keeps no session state.

Text values are sent untyped, so PostgreSQL casts them to the column's own type (jsonb, uuid,
varchar(n), ...).

psycopg is imported only here and in `postgres_connection`, and this module only lazily by
`open_warehouse`, so a SQLite-only deployment never needs the driver.
"""
from __future__ import annotations

from collections.abc import Callable

import psycopg

from .applied import APPLIED_TABLE, AppliedMark, create_applied_table, insert_mark
from .columns import Column, ColumnType, columns_to_add
from .convert import ConvertedBatch
from .errors import BadDataError, WarehouseError, WarehouseMisconfigured, WarehouseUnavailable
from .identifiers import quote
from .postgres_connection import LazyPostgresConnection, is_configuration_failure
from .sql_base import SqlWarehouse, column_list, create_table_statement, on_conflict_clause
from .url import PostgresTarget

POSTGRES_TYPES = {
    ColumnType.TEXT: "text",
    ColumnType.INTEGER: "bigint",
    ColumnType.REAL: "double precision",
    ColumnType.BOOLEAN: "boolean",
    ColumnType.JSON: "jsonb",
    ColumnType.TIMESTAMP: "timestamptz",
    ColumnType.DECIMAL: "numeric",  # unconstrained: any number of digits, kept as given
}
# information_schema.columns.data_type -> our type; anything else is handled as text.
_FROM_DATA_TYPE = {
    "bigint": ColumnType.INTEGER,
    "integer": ColumnType.INTEGER,
    "smallint": ColumnType.INTEGER,
    "double precision": ColumnType.REAL,
    "real": ColumnType.REAL,
    "numeric": ColumnType.DECIMAL,
    "boolean": ColumnType.BOOLEAN,
    "jsonb": ColumnType.JSON,
    "json": ColumnType.JSON,
    "timestamp with time zone": ColumnType.TIMESTAMP,
    "timestamp without time zone": ColumnType.TIMESTAMP,
}
# Compared through a cast: json (and text-like foreign types such as xml) have no equality.
_COMPARE_CAST = {ColumnType.JSON: "::jsonb", ColumnType.TEXT: "::text"}
# SQLSTATE classes that are the data's fault: 22 data exception, 23 integrity violation,
# 54 program limit exceeded (e.g. a key too long for the primary-key index).
_BAD_DATA_CLASSES = ("22", "23", "54")
_INSERT_MARK = insert_mark("format")


def _changed(target: str, column: Column) -> str:
    cast = _COMPARE_CAST.get(column.type, "")
    return f"{target}.{quote(column.name)}{cast} IS DISTINCT FROM excluded.{quote(column.name)}{cast}"


class PostgresWarehouse(SqlWarehouse):
    """A warehouse in a PostgreSQL database, one connection, opened lazily and reopened if lost."""

    def __init__(
        self,
        target: PostgresTarget,
        *,
        password: Callable[[], str | None] | None = None,
        connect_timeout_s: int = 10,
    ) -> None:
        """``password`` is asked at every connection (so a rotated secret file is picked up);
        without it the URL's own password, if any, is used."""
        super().__init__()
        self.target = target
        self._connection = LazyPostgresConnection(
            target, password=password, application_name="faas-etl-warehouse", connect_timeout_s=connect_timeout_s
        )

    def __repr__(self) -> str:
        return f"PostgresWarehouse({self.target.conninfo!r})"  # never the password

    def close(self) -> None:
        """Close the connection. Safe to call twice."""
        with self._lock:
            self._connection.close()

    def _db(self) -> psycopg.Connection:
        return self._connection.get()

    def _introspect(self, table: str) -> tuple[Column, ...] | None:
        rows = self._db().execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        if not rows:
            return None
        return tuple(Column(name, _FROM_DATA_TYPE.get(data_type, ColumnType.TEXT)) for name, data_type in rows)

    def _ensure(self, table: str, wanted: tuple[Column, ...], key_column: str) -> tuple[Column, ...]:
        db = self._db()
        with db.transaction():
            # Serialise DDL on this table across replicas: concurrent CREATE TABLE IF NOT EXISTS
            # can still collide in the catalog, and ALTERs would race on the column list.
            db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"faas-etl.warehouse.{table}",))
            existing = self._introspect(table)
            if existing is None:
                db.execute(create_table_statement(table, wanted, key_column, POSTGRES_TYPES))
            else:
                additions = columns_to_add(existing, wanted)
                if additions:
                    clauses = ", ".join(
                        f"ADD COLUMN IF NOT EXISTS {quote(c.name)} {POSTGRES_TYPES[c.type]}" for c in additions
                    )
                    db.execute(f"ALTER TABLE {quote(table, 'table')} {clauses}")
            actual = self._introspect(table)
        assert actual is not None
        return actual

    def _ensure_applied_table(self) -> None:
        db = self._db()
        with db.transaction():
            # Replicas starting together: CREATE TABLE IF NOT EXISTS alone can collide in the catalog.
            db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"faas-etl.warehouse.{APPLIED_TABLE}",))
            db.execute(create_applied_table({"text": "text", "integer": "bigint"}))

    def _write(
        self, table: str, key_column: str, batch: ConvertedBatch, applied: AppliedMark | None, probe: bool
    ) -> bool:
        columns = batch.columns
        marks = ", ".join("%s" for _ in columns)
        conflict = on_conflict_clause(table, columns, key_column, _changed)
        statement = f"INSERT INTO {quote(table, 'table')} ({column_list(columns)}) VALUES ({marks}) {conflict}"
        db = self._db()
        with db.transaction(), db.cursor() as cursor:
            # The mark first: a replica applying the same batch now waits here, on the primary
            # key, until this transaction ends, and then finds the mark.
            if applied is not None:
                cursor.execute(_INSERT_MARK, applied.values)
                if cursor.rowcount == 0:
                    return False  # the empty transaction commits: nothing was written
            if batch.rows:
                cursor.executemany(statement, batch.rows)
            if probe:
                raise psycopg.Rollback()  # the transaction block swallows it, rolled back
        return True

    def _count(self, table: str) -> int:
        (count,) = self._db().execute(f"SELECT count(*) FROM {quote(table, 'table')}").fetchone()  # type: ignore[misc]
        return int(count)

    def _classify(self, error: Exception) -> WarehouseError | None:
        if isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError)):
            sqlstate = getattr(error, "sqlstate", None) or ""
            if sqlstate[:2] in _BAD_DATA_CLASSES:
                return BadDataError(f"PostgreSQL refused the batch: {error}")
            if is_configuration_failure(error):
                return WarehouseMisconfigured(
                    f"PostgreSQL {self.target.conninfo}: {error} (check WAREHOUSE_URL and the password secret)"
                )
            return WarehouseUnavailable(f"PostgreSQL {self.target.conninfo}: {error}")
        if isinstance(error, (psycopg.DataError, psycopg.IntegrityError, UnicodeEncodeError, OverflowError)):
            return BadDataError(f"PostgreSQL refused the batch: {error}")
        if isinstance(error, psycopg.Error):
            return WarehouseError(f"PostgreSQL {self.target.conninfo}: {error}")
        return None

    def _after_failure(self) -> bool:
        stale = self._connection.reused
        if not self._connection.alive:
            self.close()  # reconnect on the next call
        return stale
