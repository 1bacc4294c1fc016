"""The state database layer itself (etlkit/state_db.py): a SQLite database locked past the busy
timeout is retry-worthy (StateUnavailable) on every path, a fault in the SQL is not; a store's
table names are read from its CREATE statements, and which exist is asked of the real database
(SQLite and PostgreSQL)."""
import contextlib
import sqlite3

import pytest

from etlkit import state_db
from etlkit.state_db import SqliteStateDb, StateUnavailable, open_state_db, present_tables, table_names
from etlkit.warehouse.url import parse_database_url


@pytest.fixture
def locked(tmp_path, monkeypatch):
    """A state database whose write lock another connection holds, waited on for 50 ms."""
    monkeypatch.setattr(state_db, "SQLITE_BUSY_TIMEOUT_S", 0.05)
    db = SqliteStateDb(tmp_path / "state.db")
    db.create_tables(["CREATE TABLE IF NOT EXISTS t (n INTEGER)"])
    other = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield db
    other.execute("ROLLBACK")
    other.close()
    db.close()


@pytest.mark.parametrize("path", ["transaction", "claim"])
def test_a_write_waiting_past_the_busy_timeout_is_retry_worthy(locked, path):
    with pytest.raises(StateUnavailable, match="locked"):
        with getattr(locked, path)() as tx:
            tx.execute("INSERT INTO t VALUES (1)")


def test_a_fault_in_the_sql_is_not_retry_worthy(tmp_path):
    db = SqliteStateDb(tmp_path / "state.db")
    with contextlib.closing(db), pytest.raises(sqlite3.OperationalError, match="no such table"):
        db.query("SELECT * FROM missing")


def test_table_names_are_read_from_the_create_statements():
    assert table_names(["CREATE TABLE IF NOT EXISTS a (x TEXT)", "CREATE INDEX IF NOT EXISTS i ON a (x)",
                        "CREATE TABLE IF NOT EXISTS b_2 (y TEXT)"]) == ("a", "b_2")


def test_present_tables_asks_the_database(state_url):
    db = open_state_db(parse_database_url(state_url, "STATE_URL"))
    with contextlib.closing(db):
        db.create_tables(["CREATE TABLE IF NOT EXISTS here (x TEXT)"])
        with db.transaction() as tx:
            assert present_tables(tx, db.dialect, ["gone", "here"]) == ["here"]
