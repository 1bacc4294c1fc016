"""PostgreSQL row reader for the SQL source (an I/O edge: imports psycopg)."""
from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg.rows import dict_row

from ..warehouse.postgres_connection import LazyPostgresConnection, is_configuration_failure
from ..warehouse.url import PostgresTarget
from .cursor_store import Cursor
from .sql_config import SqlSourceConfig
from .sql_source import SourceError, SourceUnavailable, page_queries


class PostgresRowReader:
    """Reads pages with one autocommit statement each (each page is its own snapshot)."""

    def __init__(
        self, target: PostgresTarget, config: SqlSourceConfig, *, password: Callable[[], str | None] | None = None
    ) -> None:
        self.target = target
        self._first, self._after = page_queries(config, "%s")
        self._connection = LazyPostgresConnection(
            target, password=password, application_name=f"faas-etl-sql-source-{config.source}", row_factory=dict_row
        )

    def rows_after(self, after: Cursor | None, limit: int) -> list[dict[str, object]]:
        parameters = (limit,) if after is None else (after.value, after.key, limit)
        query = self._first if after is None else self._after
        for attempt in (1, 2):  # a read is always safe to repeat once on a connection gone stale
            try:
                return self._connection.get().execute(query, parameters).fetchall()  # type: ignore[return-value]
            except psycopg.Error as error:
                stale = self._connection.reused
                if not self._connection.alive:
                    self._connection.close()
                translated = self._translate(error)
                if isinstance(translated, SourceUnavailable) and stale and attempt == 1:
                    continue
                raise translated from error
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._connection.close()

    def _translate(self, error: psycopg.Error) -> SourceError:
        connection_trouble = isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError))
        if connection_trouble and not is_configuration_failure(error):
            return SourceUnavailable(f"PostgreSQL {self.target.conninfo}: {error}")
        return SourceError(f"PostgreSQL {self.target.conninfo}: {error}")
