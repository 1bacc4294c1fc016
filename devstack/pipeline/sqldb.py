"""Plain SQL against the warehouse database of a run: seed a source table, read a table back.

SQLite or PostgreSQL by URL (``sqlite:///path``, ``postgresql://user[:password]@host:port/db``;
without a password in the URL, the ``warehouse-password`` secret file is used, as the functions
do). Identifiers are checked by the warehouse's own rule before they reach any SQL text.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Any, Iterator, Sequence

from etlkit.warehouse import check_identifier, parse_database_url, read_secret
from etlkit.warehouse.url import PostgresTarget

# Portable column types: (SQLite, PostgreSQL).
TYPES = {"text": ("TEXT", "text"), "real": ("REAL", "double precision"),
         "integer": ("INTEGER", "bigint")}


@contextlib.contextmanager
def connect(url: str, secrets_dir: str | os.PathLike[str] | None = None) -> Iterator[Any]:
    """A DB-API connection; committed when the block ends without an exception."""
    target = parse_database_url(url)
    if isinstance(target, PostgresTarget):
        import psycopg  # only when PostgreSQL is used

        password = target.password or read_secret("warehouse-password", secrets_dir)
        conn = psycopg.connect(target.conninfo, **({"password": password} if password else {}))
    else:
        conn = sqlite3.connect(target.path, timeout=30)
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def _is_postgres(conn: Any) -> bool:
    return not isinstance(conn, sqlite3.Connection)


def create_table(url: str, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]],
                 *, key: str, secrets_dir: str | os.PathLike[str] | None = None) -> int:
    """(Re)create ``table`` with ``columns`` ([(name, "text"|"real"|"integer")]) and insert ``rows``.

    The table is dropped first: a run seeds its source table from scratch. Returns the rows inserted.
    """
    check_identifier(table, "table")
    for name, kind in columns:
        check_identifier(name, "column")
        if kind not in TYPES:
            raise ValueError(f"columns.{name}: type {kind!r} is not one of {', '.join(TYPES)}")
    with connect(url, secrets_dir) as conn:
        pg = _is_postgres(conn)
        marker = "%s" if pg else "?"
        cols = ", ".join(f'"{n}" {TYPES[k][pg]}{" PRIMARY KEY" if n == key else ""}' for n, k in columns)
        cur = conn.cursor()
        cur.execute(f'DROP TABLE IF EXISTS "{table}"')
        cur.execute(f'CREATE TABLE "{table}" ({cols})')
        names = ", ".join(f'"{n}"' for n, _ in columns)
        cur.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join([marker] * len(columns))})',
                        [tuple(r) for r in rows])
    return len(rows)


def _exists(conn: Any, table: str) -> bool:
    cur = conn.cursor()
    if _is_postgres(conn):
        cur.execute("SELECT to_regclass(%s)", (f'"{table}"',))
        return cur.fetchone()[0] is not None
    return cur.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone() is not None


def table_exists(url: str, table: str, secrets_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``table`` exists (a SQLite file that is not there yet has none: it is not made)."""
    check_identifier(table, "table")
    target = parse_database_url(url)
    if not isinstance(target, PostgresTarget) and not os.path.exists(target.path):
        return False
    with connect(url, secrets_dir) as conn:
        return _exists(conn, table)


def read_table(url: str, table: str, secrets_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every row of ``table`` as a dict; [] when the table does not exist (nothing was loaded)."""
    check_identifier(table, "table")
    with connect(url, secrets_dir) as conn:
        cur = conn.cursor()
        if not _exists(conn, table):
            return []
        cur.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def count_rows(url: str, table: str, secrets_dir: str | os.PathLike[str] | None = None) -> int:
    check_identifier(table, "table")
    with connect(url, secrets_dir) as conn:
        cur = conn.cursor()
        cur.execute(f'SELECT COUNT(*) FROM "{table}"')
        return int(cur.fetchone()[0])
