"""At most once: an input's identity recorded with its rows (faas_etl_applied), on real SQLite
and PostgreSQL: redelivery, a transaction killed between the mark and the commit, replicas racing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psycopg

from etlkit.warehouse import (APPLIED_TABLE, AppliedMark, WarehouseUnavailable, columns_from_rows,
                              load_batch, open_warehouse)
from tests.conftest import REPO
from tests.etlkit.warehouse.conftest import Backend

ROWS = [{"id": "a", "n": 1}, {"id": "b", "n": 2}]


def _mark(table: str, batch_id: str = "batch-1", consumer: str | None = None) -> AppliedMark:
    return AppliedMark(consumer or f"w/sink/{table}", batch_id, 1_700_000_000_000)


def _marks(backend: Backend, table: str) -> list[tuple]:
    return backend.query(f"SELECT consumer, batch_id FROM {APPLIED_TABLE} WHERE consumer LIKE '%/{table}'"
                         " ORDER BY 1, 2")


def test_a_redelivered_batch_writes_nothing(backend: Backend, table: str):
    first = load_batch(backend.warehouse, table, "id", ROWS, applied=_mark(table))
    # The same identity with other values (as a replay after an upstream change would bring):
    # had it been written, the rows would show it.
    again = load_batch(backend.warehouse, table, "id", [{"id": "a", "n": 10}, {"id": "c", "n": 3}],
                       applied=_mark(table))
    assert (first.written, first.duplicate) == (2, False)
    assert (again.written, again.duplicate) == (0, True)
    assert backend.rows(table) == [("a", 1), ("b", 2)]
    assert _marks(backend, table) == [(f"w/sink/{table}", "batch-1")]


def test_each_consumer_and_each_identity_applies_once(backend: Backend, table: str):
    results = [load_batch(backend.warehouse, table, "id", [{"id": "a", "n": n}], applied=mark).duplicate
               for n, mark in enumerate([_mark(table), _mark(table, consumer=f"w/other/{table}"),
                                         _mark(table, "batch-2"), _mark(table, "batch-2")])]
    assert results == [False, False, False, True]
    assert backend.rows(table) == [("a", 2)]
    assert len(_marks(backend, table)) == 3


def test_a_batch_whose_every_row_is_rejected_is_applied_too(backend: Backend, table: str):
    load_batch(backend.warehouse, table, "id", ROWS)  # n is an integer column
    bad = [{"id": "x", "n": "not a number"}]
    first = load_batch(backend.warehouse, table, "id", bad, applied=_mark(table))
    again = load_batch(backend.warehouse, table, "id", bad, applied=_mark(table))
    # The rejected rows come back both times: the handler must be able to dead-letter them again.
    assert [r.index for r in first.rejected] == [r.index for r in again.rejected] == [0]
    assert (first.duplicate, again.duplicate) == (False, True)
    assert _marks(backend, table) == [(f"w/sink/{table}", "batch-1")]


def test_rows_the_database_refuses_are_found_without_writing_and_the_rest_goes_with_the_mark(
        backend: Backend, table: str):
    backend.query(f'CREATE TABLE "{table}" ("id" TEXT PRIMARY KEY, "n" BIGINT CHECK ("n" >= 0))')
    rows = [{"id": f"k{i}", "n": -1 if i in (2, 5) else i} for i in range(8)]
    first = load_batch(backend.warehouse, table, "id", rows, applied=_mark(table))
    again = load_batch(backend.warehouse, table, "id", rows, applied=_mark(table))
    assert [r.index for r in first.rejected] == [2, 5] and first.written == 6
    assert again.duplicate and again.written == 0
    assert backend.warehouse.count(table) == 6


def test_a_probe_leaves_nothing(backend: Backend, table: str):
    backend.warehouse.ensure_table(table, columns_from_rows(ROWS), "id")
    assert backend.warehouse.upsert(table, "id", ROWS, probe=True) == 2
    assert backend.warehouse.count(table) == 0


def test_without_an_identity_a_replay_is_an_idempotent_upsert(backend: Backend, table: str):
    assert [load_batch(backend.warehouse, table, "id", ROWS).written for _ in range(2)] == [2, 2]
    assert backend.rows(table) == [("a", 1), ("b", 2)]
    # No mark: the table of marks is made by the first mark (this worker's PostgreSQL may have it).
    if backend.name == "sqlite":
        assert backend.query(f"SELECT name FROM sqlite_master WHERE name = '{APPLIED_TABLE}'") == []
    else:
        assert _marks(backend, table) == []


# --- a transaction killed between the mark and the commit ---------------------------------------

def _waiting_on_a_lock(backend: Backend, table: str, other_than: int | None = None) -> int:
    """The pid of the loader's backend once it waits for a row lock inside its write."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = backend.query(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            f" AND query LIKE 'INSERT INTO \"{table}\"%'")
        pids = [pid for (pid,) in found if pid != other_than]
        if pids:
            return pids[0]
        time.sleep(0.02)
    raise AssertionError("the loader never waited on the blocking row")


def test_postgres_a_killed_transaction_applies_nothing_and_the_retry_applies_once(
        postgres_backend: Backend, table: str):
    backend, warehouse = postgres_backend, postgres_backend.warehouse
    warehouse.ensure_table(table, columns_from_rows(ROWS), "id")
    with psycopg.connect(backend.url) as blocker:  # one transaction, open until the end
        blocker.execute(f'INSERT INTO "{table}" ("id", "n") VALUES (%s, %s)', ("b", 0))
        outcome: list[object] = []

        def load() -> None:
            try:
                outcome.append(load_batch(warehouse, table, "id", ROWS, applied=_mark(table)))
            except Exception as error:  # noqa: BLE001 - the test looks at what came out
                outcome.append(error)

        loader = threading.Thread(target=load)
        loader.start()
        # The loader has inserted the mark and row "a", and waits on "b": kill it there. Its
        # stale-connection retry (a fresh connection) reaches the same point: kill that too.
        first = _waiting_on_a_lock(backend, table)
        assert _marks(backend, table) == []  # not committed: invisible
        backend.query(f"SELECT pg_terminate_backend({first})")
        backend.query(f"SELECT pg_terminate_backend({_waiting_on_a_lock(backend, table, first)})")
        loader.join(30)
        blocker.rollback()
    assert len(outcome) == 1 and isinstance(outcome[0], WarehouseUnavailable)
    assert backend.rows(table) == [] and _marks(backend, table) == []
    retry = load_batch(warehouse, table, "id", ROWS, applied=_mark(table))
    again = load_batch(warehouse, table, "id", ROWS, applied=_mark(table))
    assert (retry.written, retry.duplicate, again.written, again.duplicate) == (2, False, 0, True)
    assert backend.rows(table) == [("a", 1), ("b", 2)]
    assert _marks(backend, table) == [(f"w/sink/{table}", "batch-1")]


def test_postgres_two_replicas_applying_one_batch_write_it_once(postgres_backend: Backend, table: str):
    backend = postgres_backend
    backend.warehouse.ensure_table(table, columns_from_rows(ROWS), "id")
    other = open_warehouse(backend.url)
    outcomes: dict[str, object] = {}
    try:
        with psycopg.connect(backend.url) as blocker:
            blocker.execute(f'INSERT INTO "{table}" ("id", "n") VALUES (%s, %s)', ("b", 0))
            first = threading.Thread(target=lambda: outcomes.setdefault(
                "first", load_batch(backend.warehouse, table, "id", ROWS, applied=_mark(table))))
            first.start()
            _waiting_on_a_lock(backend, table)  # the first holds the mark, uncommitted
            second = threading.Thread(target=lambda: outcomes.setdefault(
                "second", load_batch(other, table, "id", ROWS, applied=_mark(table))))
            second.start()
            deadline = time.monotonic() + 20  # the second waits on the first's mark
            while not backend.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                    f" AND query LIKE 'INSERT INTO \"{APPLIED_TABLE}\"%'"):
                assert time.monotonic() < deadline, "the second replica never waited on the mark"
                time.sleep(0.02)
            blocker.rollback()
        first.join(30)
        second.join(30)
    finally:
        other.close()
    assert (outcomes["first"].written, outcomes["first"].duplicate) == (2, False)  # type: ignore[union-attr]
    assert (outcomes["second"].written, outcomes["second"].duplicate) == (0, True)  # type: ignore[union-attr]
    assert backend.rows(table) == [("a", 1), ("b", 2)]


_SQLITE_CHILD = textwrap.dedent("""
    import pathlib, sys, time
    from etlkit.warehouse import AppliedMark, load_batch, open_warehouse
    url, table, flag = sys.argv[1:4]
    warehouse = open_warehouse(url)

    def pause_here():
        pathlib.Path(flag).write_text("inside the transaction")
        time.sleep(120)  # killed here
        return 0

    # The warehouse's own connection: the table's trigger calls this inside its write.
    warehouse._db.create_function("pause_here", 0, pause_here)
    load_batch(warehouse, table, "id", [{"id": "a", "n": 1}, {"id": "b", "n": 2}],
               applied=AppliedMark(f"w/sink/{table}", "batch-1", 1_700_000_000_000))
""")


def test_sqlite_a_process_killed_inside_the_transaction_applies_nothing_and_the_retry_applies_once(
        sqlite_backend: Backend, table: str, tmp_path):
    backend = sqlite_backend
    backend.warehouse.ensure_table(table, columns_from_rows(ROWS), "id")
    backend.query(f'CREATE TRIGGER "stop_{table}" AFTER INSERT ON "{table}" WHEN NEW.id = \'b\''
                  " BEGIN SELECT pause_here(); END")
    flag = tmp_path / "inside"
    child = subprocess.Popen([sys.executable, "-c", _SQLITE_CHILD, backend.url, table, str(flag)],
                             cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 30
        while not flag.exists():  # the mark and "a" are in, uncommitted
            assert child.poll() is None and time.monotonic() < deadline, "the child never paused"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(30)
    backend.query(f'DROP TRIGGER "stop_{table}"')
    assert backend.rows(table) == [] and _marks(backend, table) == []
    retry = load_batch(backend.warehouse, table, "id", ROWS, applied=_mark(table))
    again = load_batch(backend.warehouse, table, "id", ROWS, applied=_mark(table))
    assert (retry.written, retry.duplicate, again.written, again.duplicate) == (2, False, 0, True)
    assert backend.rows(table) == [("a", 1), ("b", 2)]


def test_postgres_a_mark_outlives_a_server_restart(postgres_server, postgres_backend: Backend, table: str):
    # The Sensor's retry of a call the restart interrupted reaches a fresh server: the batch is
    # found applied there (the warehouse reconnects on its own).
    warehouse = postgres_backend.warehouse
    assert not load_batch(warehouse, table, "id", ROWS, applied=_mark(table)).duplicate
    postgres_server.restart()
    assert load_batch(warehouse, table, "id", ROWS, applied=_mark(table)).duplicate
    assert postgres_backend.rows(table) == [("a", 1), ("b", 2)]
