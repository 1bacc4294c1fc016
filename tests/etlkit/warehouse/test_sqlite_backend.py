"""SQLite-only behaviour: WAL, text affinity for JSON, lock contention, several writers."""
from __future__ import annotations

import sqlite3

import pytest

from etlkit.warehouse import Column, ColumnType, WarehouseUnavailable, open_warehouse
from etlkit.warehouse.sqlite_backend import SqliteWarehouse
from tests.etlkit.warehouse.conftest import Backend


def test_journal_is_wal(sqlite_backend: Backend):
    assert sqlite_backend.query("PRAGMA journal_mode") == [("wal",)]


def test_json_that_looks_numeric_stays_text(sqlite_backend: Backend, table: str):
    sqlite_backend.warehouse.ensure_table(table, [Column("doc", ColumnType.JSON)], "id")
    sqlite_backend.warehouse.upsert(table, "id", [{"id": "a", "doc": 12}])
    assert sqlite_backend.query(f'SELECT "doc", typeof("doc") FROM "{table}"') == [("12", "text")]


def test_declared_types_read_back_as_created(sqlite_backend: Backend, table: str):
    columns = tuple(Column(kind.value, kind) for kind in ColumnType)
    stored = sqlite_backend.warehouse.ensure_table(table, columns, "text")
    other = open_warehouse(sqlite_backend.url)  # a fresh instance reads the types from the file
    try:
        assert other.ensure_table(table, [], "text") == stored == columns
    finally:
        other.close()


def test_locked_database_is_retry_worthy(tmp_path, table: str):
    path = str(tmp_path / "w.db")
    warehouse = SqliteWarehouse(path, busy_timeout_s=0.01)
    warehouse.ensure_table(table, [], "id")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        with pytest.raises(WarehouseUnavailable, match="locked"):
            warehouse.upsert(table, "id", [{"id": "a"}])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert warehouse.upsert(table, "id", [{"id": "a"}]) == 1
    warehouse.close()


def test_two_writers_share_one_file(sqlite_backend: Backend, table: str):
    other = open_warehouse(sqlite_backend.url)
    try:
        sqlite_backend.warehouse.ensure_table(table, [Column("n", ColumnType.INTEGER)], "id")
        other.ensure_table(table, [Column("n", ColumnType.INTEGER)], "id")
        sqlite_backend.warehouse.upsert(table, "id", [{"id": "a", "n": 1}])
        other.upsert(table, "id", [{"id": "a", "n": 2}, {"id": "b", "n": 3}])
    finally:
        other.close()
    assert sqlite_backend.rows(table) == [("a", 2), ("b", 3)]


def test_unopenable_file_is_reported(tmp_path):
    with pytest.raises(WarehouseUnavailable, match="unable to open"):
        open_warehouse(f"sqlite:///{tmp_path}/missing-folder/w.db")
