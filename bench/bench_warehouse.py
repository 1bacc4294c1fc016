"""Warehouse upsert throughput (rows/s) against row-by-row INSERT baselines measured in the same run.

For each backend the same deterministic rows are written in batches of BATCH into a fresh table:

* ``row-by-row, commit per row``: the naive loader (one INSERT ... ON CONFLICT and one commit
  per record);
* ``row-by-row, one tx per batch``: the same statements, one transaction per batch (isolates
  what batching the statement buys, with the same durability as the warehouse);
* PostgreSQL also ``executemany (pipeline)`` and ``COPY + INSERT SELECT`` with the same bare
  per-record work: the two write paths measured against each other to choose the backend's;
* ``warehouse.upsert``: the library's path, including validation, conversion and de-duplication;
* ``warehouse.upsert, replay``: the same batches again (idempotent; nothing is rewritten).

Ratios are printed against the naive loader. Goals (GOALS below), per backend:

* SQLite: >= 5x the naive loader; >= 0.75x bare row-by-row in one transaction per batch. In
  process, a SQLite statement costs about as much as validating a row, so batching the
  statement cannot beat the bare baseline by much; the goal caps the price of validation,
  conversion and de-duplication instead.
* PostgreSQL: >= 2x the naive loader and >= 1.3x bare row-by-row per batch (every statement
  is a round trip there). The server is a throw-away cluster on loopback, with production
  durability (fsync and synchronous_commit on) so a commit costs what it costs in
  production; over a real network the round trips saved make the ratios only grow. On this
  shared 2-core machine the per-batch ratio ranged 1.2x-2.8x with other work running.

The bare COPY and executemany-pipeline cases are the two PostgreSQL write paths measured
against each other. With one table, COPY + INSERT SELECT ranged 0.66x-1.5x of the pipeline
across runs on this shared machine; with the library's per-table session staging tables and
several target tables per session it fell to 0.2x-0.5x (each staging table is truncated at
every commit), so the backend uses the pipeline.
"""
from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence

from etlkit.warehouse import Column, ColumnType, open_warehouse

BATCH = 1_000
ROWS = 10_000  # batched cases
NAIVE_ROWS = 1_000  # per-row commits are slow; rows/s normalises the difference
REPEATS = 5  # best of: the machine is shared, the best run is the least disturbed one
# backend -> (minimum ratio to the naive loader, minimum ratio to bare row-by-row per batch)
GOALS = {"SQLite": (5.0, 0.75), "PostgreSQL": (2.0, 1.3)}
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}

COLUMNS = (
    Column("id", ColumnType.TEXT),
    Column("qty", ColumnType.INTEGER),
    Column("price", ColumnType.REAL),
    Column("paid", ColumnType.BOOLEAN),
    Column("note", ColumnType.TEXT),
    Column("lines", ColumnType.JSON),
)
NAMES = [column.name for column in COLUMNS]


def make_rows(count: int, seed: int = 7) -> list[dict[str, object]]:
    generator = random.Random(seed)
    return [
        {
            "id": hashlib.sha1(str(n).encode()).hexdigest()[:16],
            "qty": generator.randrange(1, 1000),
            "price": round(generator.uniform(1, 500), 2),
            "paid": generator.random() < 0.5,
            "note": f"order {n}",
            "lines": [{"sku": f"s{generator.randrange(100)}", "n": generator.randrange(1, 9)}],
        }
        for n in range(count)
    ]


def parameters(row: dict[str, object]) -> tuple[object, ...]:
    """What any loader must do per record before a write: pick the fields, encode the JSON one.

    The baselines do this and nothing more (no validation, no de-duplication)."""
    return (row["id"], row["qty"], row["price"], row["paid"], row["note"], json.dumps(row["lines"]))


def upsert_statement(table: str, mark: str) -> str:
    updates = ", ".join(f'"{n}" = excluded."{n}"' for n in NAMES[1:])
    values = ", ".join(mark for _ in NAMES)
    return f'INSERT INTO "{table}" ({", ".join(NAMES)}) VALUES ({values}) ON CONFLICT ("id") DO UPDATE SET {updates}'


Case = tuple[int, Callable[[int], object], Callable[[object], None]]  # rows, setup(attempt), run(state)


def best_rates(cases: dict[str, Case]) -> dict[str, float]:
    """Rows per second of each case, best of REPEATS runs, each on a fresh table from its setup.

    Repeats are interleaved (every case once, then again) so that a burst of load from other
    work on the machine hits all cases alike instead of skewing one ratio.
    """
    best = {name: float("inf") for name in cases}
    for attempt in range(REPEATS):
        for name, (_, setup, run) in cases.items():
            state = setup(attempt)
            started = time.perf_counter()
            run(state)
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: rows / best[name] for name, (rows, _, _) in cases.items()}


def batches(rows: Sequence, size: int = BATCH):
    return (rows[i : i + size] for i in range(0, len(rows), size))


# --- SQLite ----------------------------------------------------------------------------------


def sqlite_rates(folder: str) -> dict[str, float]:
    rows, naive_rows = make_rows(ROWS), make_rows(NAIVE_ROWS)

    def raw_table(attempt: int, label: str) -> tuple[sqlite3.Connection, str]:
        db = sqlite3.connect(f"{folder}/{label}-{attempt}.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # the warehouse's durability, for a fair fight
        db.execute('CREATE TABLE "t" ("id" TEXT PRIMARY KEY, "qty" INTEGER, "price" REAL, "paid" BOOLEAN, "note" TEXT, "lines" JSON TEXT)')
        return db, upsert_statement("t", "?")

    def commit_per_row(state) -> None:
        db, statement = state
        for row in naive_rows:
            db.execute(statement, parameters(row))  # autocommit: one transaction per row

    def one_tx_per_batch(state) -> None:
        db, statement = state
        for batch in batches(rows):
            db.execute("BEGIN IMMEDIATE")
            for row in batch:
                db.execute(statement, parameters(row))
            db.execute("COMMIT")

    def warehouse(attempt: int, label: str):
        store = open_warehouse(f"sqlite:///{folder}/{label}-{attempt}.db")
        store.ensure_table("t", COLUMNS, "id")
        return store

    def upsert_all(store) -> None:
        for batch in batches(rows):
            store.upsert("t", "id", batch)

    def replay_setup(attempt: int):
        store = warehouse(attempt, "replay")
        upsert_all(store)
        return store

    return best_rates({
        "row-by-row, commit per row": (NAIVE_ROWS, lambda a: raw_table(a, "naive"), commit_per_row),
        "row-by-row, one tx per batch": (ROWS, lambda a: raw_table(a, "rows"), one_tx_per_batch),
        "warehouse.upsert (executemany)": (ROWS, lambda a: warehouse(a, "upsert"), upsert_all),
        "warehouse.upsert, replay": (ROWS, replay_setup, upsert_all),
    })


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_rates(url: str) -> dict[str, float]:
    import psycopg

    rows, naive_rows = make_rows(ROWS), make_rows(NAIVE_ROWS)
    connection = psycopg.connect(url, autocommit=True, connect_timeout=10)

    def raw_table(attempt: int, label: str) -> str:
        table = f"{label}_{attempt}"
        connection.execute(f'DROP TABLE IF EXISTS "{table}"')
        connection.execute(
            f'CREATE TABLE "{table}" ("id" text PRIMARY KEY, "qty" bigint, "price" double precision, "paid" boolean, "note" text, "lines" jsonb)'
        )
        return table

    def commit_per_row(table: str) -> None:
        statement = upsert_statement(table, "%s")
        for row in naive_rows:
            connection.execute(statement, parameters(row))

    def one_tx_per_batch(table: str) -> None:
        statement = upsert_statement(table, "%s")
        for batch in batches(rows):
            with connection.transaction(), connection.cursor() as cursor:
                for row in batch:
                    cursor.execute(statement, parameters(row))

    def pipelined(table: str) -> None:
        statement = upsert_statement(table, "%s")
        for batch in batches(rows):
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(statement, [parameters(row) for row in batch])  # pipeline mode

    def copied(table: str) -> None:
        names = ", ".join(NAMES)
        connection.execute(f'CREATE TEMP TABLE IF NOT EXISTS "stage_{table}" (LIKE "{table}") ON COMMIT DELETE ROWS')
        statement = upsert_statement(table, "%s").split(" VALUES ")[0] + f' SELECT {names} FROM "stage_{table}"'
        statement += " ON CONFLICT" + upsert_statement(table, "%s").split(" ON CONFLICT")[1]
        for batch in batches(rows):
            with connection.transaction(), connection.cursor() as cursor:
                with cursor.copy(f'COPY "stage_{table}" ({names}) FROM STDIN') as copy:
                    for row in batch:
                        copy.write_row(parameters(row))
                cursor.execute(statement)

    store = open_warehouse(url)

    def warehouse_table(attempt: int) -> str:
        table = raw_table(attempt, "upsert")
        store.ensure_table(table, COLUMNS, "id")
        return table

    def upsert_all(table: str) -> None:
        for batch in batches(rows):
            store.upsert(table, "id", batch)

    def replay_setup(attempt: int) -> str:
        table = warehouse_table(attempt + REPEATS)
        upsert_all(table)
        return table

    try:
        return best_rates({
            "row-by-row, commit per row": (NAIVE_ROWS, lambda a: raw_table(a, "naive"), commit_per_row),
            "row-by-row, one tx per batch": (ROWS, lambda a: raw_table(a, "rows"), one_tx_per_batch),
            "executemany (pipeline)": (ROWS, lambda a: raw_table(a, "pipeline"), pipelined),
            "COPY + INSERT SELECT": (ROWS, lambda a: raw_table(a, "copy"), copied),
            "warehouse.upsert (executemany pipeline)": (ROWS, warehouse_table, upsert_all),
            "warehouse.upsert, replay": (ROWS, replay_setup, upsert_all),
        })
    finally:
        store.close()
        connection.close()


# --- report ----------------------------------------------------------------------------------


def report(backend: str, rates: dict[str, float]) -> bool:
    """Print rows/s and ratios against the naive baseline; True if the goals are met."""
    naive = rates["row-by-row, commit per row"]
    row_by_row = rates["row-by-row, one tx per batch"]
    upsert = next(rate for name, rate in rates.items() if name.startswith("warehouse.upsert ("))
    print(f"{backend}: batches of {BATCH}, best of {REPEATS}")
    for name, rate in rates.items():
        print(f"  {name:<42} {rate:>11,.0f} rows/s  {rate / naive:>7.1f}x naive")
    vs_naive, vs_rows = upsert / naive, upsert / row_by_row
    goal_naive, goal_rows = GOALS[backend]
    met = vs_naive >= goal_naive and vs_rows >= goal_rows
    print(
        f"  goal: upsert >= {goal_naive}x naive ({vs_naive:.1f}x) and >= {goal_rows}x "
        f"row-by-row per batch ({vs_rows:.2f}x): {'met' if met else 'MISSED'}"
    )
    if "executemany (pipeline)" in rates:
        ratio = rates["COPY + INSERT SELECT"] / rates["executemany (pipeline)"]
        print(f"  bare COPY path vs bare executemany pipeline: {ratio:.2f}x")
    return met


def main() -> int:
    """Measure both backends; 0 if every goal is met (PostgreSQL is skipped if not installed)."""
    met = True
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as folder:
        met &= report("SQLite", sqlite_rates(folder))
    try:
        from tests.fixtures.postgres import PostgresUnavailable, running_postgres
    except ImportError:  # pragma: no cover - run outside the repository root
        print("PostgreSQL: skipped (tests.fixtures.postgres not importable)")
        return 0 if met else 1
    try:
        with running_postgres(settings=DURABLE) as server:
            met &= report("PostgreSQL", postgres_rates(server.url))
    except PostgresUnavailable as missing:
        print(f"PostgreSQL: skipped ({missing})")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
