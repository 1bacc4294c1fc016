"""PostgreSQL-specific: typed cursors (timestamptz, numeric) across restarts, and server restarts."""
from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from etlkit.sources import StateDbCursorStore, SourceUnavailable, SqlSource, SqlSourceConfig, open_row_reader
from etlkit.state_db import SqliteStateDb
from tests.fixtures.postgres import PostgresServer

NOW = 1_700_000_000_000
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def events(postgres_url: str) -> str:
    table = "events_typed"
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(f"CREATE TABLE {table} (id uuid PRIMARY KEY, updated_at timestamptz NOT NULL, amount numeric(10,2), payload bytea)")
        for n in range(5):
            db.execute(
                f"INSERT INTO {table} VALUES (%s, %s, %s, %s)",
                (f"00000000-0000-0000-0000-00000000000{n}", T0 + dt.timedelta(milliseconds=n // 2), f"{n}.50", b"\x00\x01"),
            )
    return table


def make_source(url: str, table: str, folder) -> SqlSource:
    config = SqlSourceConfig(source="events", table=table, cursor_column="updated_at", key_column="id", time_column="updated_at", page_size=2)
    return SqlSource(config, open_row_reader(url, config), StateDbCursorStore(SqliteStateDb(folder / "state.db")))


def test_timestamp_cursor_with_uuid_tie_breaker_survives_restart(postgres_url: str, events: str, tmp_path):
    first = make_source(postgres_url, events, tmp_path)
    page = first.fetch_page(NOW)
    first.commit(page)
    first.close()
    assert page.end.value == T0 and str(page.end.key).endswith("01")

    second = make_source(postgres_url, events, tmp_path)
    keys = []
    while True:
        page = second.fetch_page(NOW)
        keys += [r["key"][-1] for r in page.records]
        second.commit(page)
        if not page.full:
            break
    second.close()
    assert keys == ["2", "3", "4"]


def test_values_are_json_ready_and_event_time_comes_from_the_column(postgres_url: str, events: str, tmp_path):
    source = make_source(postgres_url, events, tmp_path)
    record = source.fetch_page(NOW).records[0]
    source.close()
    assert record["value"] == {
        "id": "00000000-0000-0000-0000-000000000000",
        "updated_at": "2024-05-01T12:00:00+00:00",
        "amount": 0.5,
        "payload": "AAE=",
    }
    assert record["event_time_ms"] == int(T0.timestamp() * 1000)


def test_reader_survives_a_server_restart_and_reports_an_outage(postgres_server: PostgresServer, postgres_url: str, events: str, tmp_path):
    source = make_source(postgres_url, events, tmp_path)
    source.fetch_page(NOW)
    postgres_server.restart()
    assert len(source.fetch_page(NOW).records) == 2  # the stale connection is replaced silently
    postgres_server.stop()
    try:
        with pytest.raises(SourceUnavailable):
            source.fetch_page(NOW)
    finally:
        postgres_server.start()
    assert len(source.fetch_page(NOW).records) == 2
    source.close()
