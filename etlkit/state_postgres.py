"""The state database in PostgreSQL (see :mod:`.state_db`): the home of state in a cluster.

An I/O edge: it imports psycopg, and only :func:`.state_db.open_state_db` imports it, so an
embedded (SQLite) deployment never needs the driver.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg

from .state_db import RowLock, StateUnavailable, Transaction
from .warehouse.postgres_connection import LazyPostgresConnection, is_configuration_failure
from .warehouse.url import PostgresTarget

# pg_advisory_xact_lock key serialising table creation: two replicas starting at once would
# otherwise both run CREATE TABLE IF NOT EXISTS and one would fail on the catalog's unique index.
_CREATE_LOCK = 0x66_61_61_73_65_74_6C  # "faasetl"


def _postgres(sql: str) -> str:
    """``?`` markers as psycopg's ``%s`` (the stores' SQL has no ``%`` of its own)."""
    return sql.replace("?", "%s")


class _PostgresTransaction:
    def __init__(self, connection: psycopg.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._connection.execute(_postgres(sql), params).rowcount

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._connection.cursor() as cursor:
            cursor.executemany(_postgres(sql), rows)

    def fetch(self, sql: str, params: Sequence[Any] = (), *, lock: RowLock | None = None) -> list[tuple]:
        suffix = "" if lock is None else _LOCKS[lock]
        return self._connection.execute(_postgres(sql) + suffix, params).fetchall()


_LOCKS = {"share": " FOR SHARE", "update": " FOR UPDATE"}


class PostgresStateDb:
    """One lazily opened connection per process; calls of this process take turns on it.

    A lost connection is reopened by the next call; a failure to connect or a lost connection
    is :class:`~.state_db.StateUnavailable` (retry-worthy), except refused credentials, role
    or database, which stay ``psycopg.OperationalError`` (a configuration fault).
    """

    dialect = "postgresql"

    def __init__(self, target: PostgresTarget, *, password: Callable[[], str | None] | None = None,
                 application_name: str = "faas-etl") -> None:
        self._connection = LazyPostgresConnection(target, password=password,
                                                  application_name=f"{application_name}-state")
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock, self._unavailable_on_connection_loss():
            connection = self._connection.get()
            with connection.transaction():
                yield _PostgresTransaction(connection)

    def claim(self) -> contextlib.AbstractContextManager[Transaction]:
        return self.transaction()  # its FOR UPDATE rows stay locked until the block ends

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock, self._unavailable_on_connection_loss():
            return self._connection.get().execute(_postgres(sql), params).fetchall()

    def create_tables(self, statements: Sequence[str]) -> None:
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (_CREATE_LOCK,))
            for statement in statements:
                tx.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextlib.contextmanager
    def _unavailable_on_connection_loss(self) -> Iterator[None]:
        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            if is_configuration_failure(error):
                raise
            self._connection.close()  # the next call opens a new one
            raise StateUnavailable(f"state database: {error}") from error
