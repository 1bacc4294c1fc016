"""Row readers for the SQL source: SQLite here (stdlib), PostgreSQL in `sql_postgres_reader`.

`open_row_reader(url, config)` picks one from the same URL shapes as the warehouse
(``sqlite:///path``, ``postgresql://user@host:port/db``). A SQLite source is opened read-only:
the source database belongs to someone else.
"""
from __future__ import annotations

import os
import pathlib
import sqlite3

from ..warehouse.url import PostgresTarget, parse_database_url, read_secret
from .cursor_store import Cursor
from .sql_config import SqlSourceConfig
from .sql_source import RowReader, SourceError, SourceUnavailable, page_queries

SQL_SOURCE_PASSWORD_SECRET = "sql-source-password"
_RETRYABLE_MESSAGES = ("locked", "busy", "disk i/o", "unable to open")


class SqliteRowReader:
    """Reads pages from a SQLite file through a read-only connection."""

    def __init__(self, path: str, config: SqlSourceConfig) -> None:
        if path == ":memory:":
            raise SourceError("SQL source: an in-memory SQLite database has no rows to pull")
        self.path = path
        self._first, self._after = page_queries(config, "?")
        uri = pathlib.Path(path).absolute().as_uri() + "?mode=ro"
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        except sqlite3.Error as error:
            raise self._translate(error) from error
        self._db.row_factory = sqlite3.Row

    def rows_after(self, after: Cursor | None, limit: int) -> list[dict[str, object]]:
        parameters = (limit,) if after is None else (after.value, after.key, limit)
        try:
            rows = self._db.execute(self._first if after is None else self._after, parameters).fetchall()
        except sqlite3.Error as error:
            raise self._translate(error) from error
        return [dict(row) for row in rows]

    def close(self) -> None:
        self._db.close()

    def _translate(self, error: sqlite3.Error) -> SourceError:
        if any(message in str(error).lower() for message in _RETRYABLE_MESSAGES):
            return SourceUnavailable(f"SQLite {self.path!r}: {error}")
        return SourceError(f"SQLite {self.path!r}: {error}")


def open_row_reader(
    url: str,
    config: SqlSourceConfig,
    *,
    secrets_dir: str | os.PathLike[str] | None = None,
    password_secret: str = SQL_SOURCE_PASSWORD_SECRET,
) -> RowReader:
    """The reader for ``url``; a PostgreSQL password comes from the URL or the secret file."""
    target = parse_database_url(url, setting="SOURCE_URL")
    if isinstance(target, PostgresTarget):
        from .sql_postgres_reader import PostgresRowReader  # psycopg only when PostgreSQL is used

        password = None if target.password is not None else (lambda: read_secret(password_secret, secrets_dir))
        return PostgresRowReader(target, config, password=password)
    return SqliteRowReader(target.path, config)
