"""The SQL source against real SQLite and PostgreSQL: paging, ties, resume, commit discipline."""
from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest

from etlkit.state_db import SqliteStateDb
from etlkit.sources import (
    StateDbCursorStore,
    SourceConfigError,
    SourceError,
    SourceUnavailable,
    SqlSource,
    SqlSourceConfig,
    StaleCursor,
    open_row_reader,
)

NOW = 1_700_000_000_000


@dataclass
class SourceDb:
    kind: str
    url: str
    table: str
    execute: Callable[..., None]
    state_path: object

    def source(self, **options) -> SqlSource:
        """A fresh source object, as a restarted replica would build it."""
        settings = {"source": "orders-sql", "table": self.table, "cursor_column": "version", "key_column": "id", "page_size": 3}
        config = SqlSourceConfig(**(settings | options))
        return SqlSource(config, open_row_reader(self.url, config),
                         StateDbCursorStore(SqliteStateDb(self.state_path)))

    def insert(self, *rows: tuple[int, int | None, str]) -> None:
        for row in rows:
            self.execute(f'INSERT INTO "{self.table}" ("id", "version", "name") VALUES ({self.mark}, {self.mark}, {self.mark})', row)

    @property
    def mark(self) -> str:
        return "?" if self.kind == "sqlite" else "%s"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[SourceDb]:
    table = "src_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    if request.param == "sqlite":
        path = tmp_path / "source.db"
        url = f"sqlite:///{path}"

        def execute(statement: str, parameters: tuple = ()) -> None:
            with sqlite3.connect(path) as connection:
                connection.execute(statement, parameters)

    else:
        url = request.getfixturevalue("postgres_url")

        def execute(statement: str, parameters: tuple = ()) -> None:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(statement, parameters)

    execute(f'CREATE TABLE "{table}" ("id" BIGINT PRIMARY KEY, "version" BIGINT, "name" TEXT)')
    yield SourceDb(request.param, url, table, execute, tmp_path / "state.db")


def drain(source: SqlSource) -> list[str]:
    """Fetch and commit until no rows are left; the keys in delivery order."""
    keys: list[str] = []
    while True:
        page = source.fetch_page(NOW)
        keys += [record["key"] for record in page.records]
        source.commit(page)
        if not page.full:
            return keys


def test_pages_in_cursor_order_until_exhausted(db: SourceDb):
    db.insert((1, 10, "a"), (2, 30, "b"), (3, 20, "c"), (4, 40, "d"))
    source = db.source()
    first = source.fetch_page(NOW)
    assert [r["key"] for r in first.records] == ["1", "3", "2"]
    assert first.full
    assert first.records[0] == {"key": "1", "value": {"id": 1, "version": 10, "name": "a"}, "source": "orders-sql", "event_time_ms": NOW}
    source.commit(first)
    second = source.fetch_page(NOW)
    assert [r["key"] for r in second.records] == ["4"]
    assert not second.full
    source.commit(second)
    empty = source.fetch_page(NOW)
    assert empty.records == () and empty.end == empty.after
    source.commit(empty)
    source.close()


def test_uncommitted_page_is_fetched_again(db: SourceDb):
    db.insert((1, 1, "a"), (2, 2, "b"))
    source = db.source()
    assert source.fetch_page(NOW) == source.fetch_page(NOW)  # delivery failed: nothing advanced
    source.close()


def test_resumes_after_restart_from_the_committed_cursor(db: SourceDb):
    db.insert(*[(n, n, f"r{n}") for n in range(1, 8)])
    before = db.source()
    delivered = before.fetch_page(NOW)
    before.commit(delivered)  # 1..3 delivered
    lost = before.fetch_page(NOW)  # 4..6 fetched but the replica dies before delivering them
    before.close()

    after = db.source()  # restarted: new reader, new store object, same folder
    again = after.fetch_page(NOW)
    # The page read again writes the batch ids the lost delivery would have: its cursor range.
    assert again.origin("s") == lost.origin("s") != delivered.origin("s")
    assert drain(after) == ["4", "5", "6", "7"]
    after.close()


def test_rows_sharing_a_cursor_value_are_neither_skipped_nor_repeated(db: SourceDb):
    db.insert(*[(n, 5, "same") for n in range(1, 8)], (8, 4, "earlier"), (9, 6, "later"))
    source = db.source()
    assert drain(source) == ["8", "1", "2", "3", "4", "5", "6", "7", "9"]
    source.close()


def test_updated_row_comes_again_when_its_cursor_grows(db: SourceDb):
    db.insert((1, 1, "a"), (2, 2, "b"))
    source = db.source()
    assert drain(source) == ["1", "2"]
    db.execute(f'UPDATE "{db.table}" SET "version" = 3, "name" = \'a2\' WHERE "id" = 1')
    page = source.fetch_page(NOW)
    assert [(r["key"], r["value"]["name"]) for r in page.records] == [("1", "a2")]
    source.close()


def test_rows_with_null_cursor_are_never_read_and_never_block(db: SourceDb):
    db.insert((1, None, "no version"), (2, 1, "a"), (3, 2, "b"))
    source = db.source()
    assert drain(source) == ["2", "3"]
    source.close()


def test_commit_refuses_a_page_fetched_before_the_cursor_moved(db: SourceDb):
    db.insert(*[(n, n, "x") for n in range(1, 5)])
    one, other = db.source(), db.source()
    page = one.fetch_page(NOW)
    same_page = other.fetch_page(NOW)
    one.commit(page)
    with pytest.raises(StaleCursor, match="orders-sql"):
        other.commit(same_page)
    assert [r["key"] for r in other.fetch_page(NOW).records] == ["4"]
    one.close()
    other.close()


def test_selected_columns_always_include_cursor_and_key(db: SourceDb):
    db.insert((1, 1, "a"))
    source = db.source(columns=("name",))
    (record,) = source.fetch_page(NOW).records
    assert record["value"] == {"name": "a", "version": 1, "id": 1}
    source.close()


def test_missing_table_is_not_retry_worthy(db: SourceDb):
    source = db.source(table="no_such_table")
    with pytest.raises(SourceError) as failure:
        source.fetch_page(NOW)
    assert not isinstance(failure.value, SourceUnavailable)
    source.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"table": 'orders"; DROP TABLE orders; --'}, "table"),
        ({"cursor_column": "version desc"}, "cursor_column"),
        ({"columns": ("name", "1=1")}, "columns"),
        ({"page_size": 0}, "page_size"),
        ({"source": "../x"}, "source"),
    ],
    ids=["table-injection", "cursor-injection", "column-injection", "page-size-zero", "source-name-traversal"],
)
def test_config_refuses_unsafe_values(options: dict, message: str):
    settings = {"source": "s", "table": "t", "cursor_column": "c", "key_column": "k"} | options
    with pytest.raises(SourceConfigError, match=message):
        SqlSourceConfig(**settings)


def test_config_from_spec_rejects_unknown_fields():
    with pytest.raises(SourceConfigError, match="cursor: unknown field"):
        SqlSourceConfig.from_spec({"source": "s", "table": "t", "cursor": "c", "cursor_column": "c", "key_column": "k"})
    config = SqlSourceConfig.from_spec({"source": "s", "table": "t", "cursor_column": "c", "key_column": "k", "columns": ["a"]})
    assert config.selected == ("a", "c", "k")


def test_row_without_usable_event_time_is_a_bad_record_and_the_cursor_moves_past_it(db: SourceDb):
    db.insert((1, 1, "2024-05-01T00:00:00Z"), (2, 2, "not a time"))
    source = db.source(time_column="name")
    page = source.fetch_page(NOW)
    assert [r["event_time_ms"] for r in page.records] == [1_714_521_600_000]
    assert [(b.line, b.reason) for b in page.bad] == [(2, "row: 'not a time' is neither epoch milliseconds nor an ISO 8601 date-time")]
    assert json.loads(page.bad[0].raw) == {"id": 2, "version": 2, "name": "not a time"}
    source.commit(page)  # bad rows are dead-lettered by the caller, never re-read
    assert source.fetch_page(NOW).records == ()
    source.close()
