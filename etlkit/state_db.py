"""The home of the functions' state: one database that STATE_URL names, shared by every replica.

A function's root filesystem is read-only in a cluster (faas-netes writes only /tmp) and its
/tmp is its own pod's, so nothing that must outlive a call or be seen by another replica can
live in a file there. Every store of state (schema versions, source cursors and leases, the
metrics collector's previous samples, workflow versions, the aggregate's windows) lives in the
database STATE_URL names, one table per concern, created on first use:

* ``sqlite:///<path>``: the embedded default, ``<run folder>/step-state.db`` when STATE_URL is
  unset (the local stack's run folder, else /tmp). Replicas on one machine share it.
* ``postgresql://user@host:port/db``: a cluster. The password is the URL's own, else the
  OpenFaaS secret ``state-password`` (read at every connection, so a rotation needs no restart).

A store runs its SQL through :class:`StateDb`: ``transaction()`` is a write transaction (SQLite
``BEGIN IMMEDIATE``; PostgreSQL ``READ COMMITTED``, where the stores make every race a
compare-and-set: a conditional ``UPDATE``/``INSERT ... ON CONFLICT`` whose row count says who
won), and ``query()`` reads. The SQL is written once, with ``?`` markers and the
``INSERT ... ON CONFLICT`` both dialects accept; the PostgreSQL side turns ``?`` into ``%s``.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from .paths import run_dir
from .secrets import read_secret
from .warehouse.url import PostgresTarget, SqliteTarget, parse_database_url

STATE_PASSWORD_SECRET = "state-password"
DEFAULT_STATE_FILE = "step-state.db"
SQLITE_BUSY_TIMEOUT_S = 30.0  # the aggregate holds the write lock while Kafka acknowledges


class StateUnavailable(Exception):
    """The state database cannot be reached right now (a retry may succeed)."""


class Transaction(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        ...


class StateDb(Protocol):
    dialect: str  # "sqlite" or "postgresql"

    def transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...

    def create_tables(self, statements: Sequence[str]) -> None:
        """Run ``CREATE ... IF NOT EXISTS`` statements, one process at a time."""
        ...

    def close(self) -> None: ...


def state_url(env: Mapping[str, str] | None = None) -> str:
    """STATE_URL, or the SQLite file in the run folder when it is unset."""
    env = os.environ if env is None else env
    return env.get("STATE_URL") or f"sqlite:///{os.path.join(run_dir(), DEFAULT_STATE_FILE)}"


def state_target(env: Mapping[str, str] | None = None) -> SqliteTarget | PostgresTarget:
    """The parsed STATE_URL; ``DatabaseUrlError`` names STATE_URL and the rule it broke."""
    return parse_database_url(state_url(env), setting="STATE_URL")


def open_state_db(target: SqliteTarget | PostgresTarget | None = None, *, application_name: str = "faas-etl",
                  secrets_dir: str | os.PathLike[str] | None = None) -> StateDb:
    """The state database ``target`` (default: STATE_URL's) names. PostgreSQL connects lazily."""
    target = target or state_target()
    if isinstance(target, PostgresTarget):
        from .state_postgres import PostgresStateDb  # psycopg only when PostgreSQL is used

        password = None if target.password is not None else (
            lambda: read_secret(STATE_PASSWORD_SECRET, secrets_dir))
        return PostgresStateDb(target, password=password, application_name=application_name)
    return SqliteStateDb(target.path)


class _SqliteTransaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._db.execute(sql, params).rowcount

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._db.execute(sql, params).fetchall()


class SqliteStateDb:
    """One connection to a SQLite file in WAL mode (readers never wait for the writer).

    Calls of this process take turns on it; other processes wait up to
    SQLITE_BUSY_TIMEOUT_S for the write lock, which ``BEGIN IMMEDIATE`` takes before the first
    read of a transaction, so a read-check-write is never interleaved with another writer's.
    """

    dialect = "sqlite"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        if self.path != ":memory:":
            pathlib.Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:  # still locked after the busy timeout
                raise StateUnavailable(f"state database {self.path}: {error}") from error
            try:
                yield _SqliteTransaction(self._db)
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def create_tables(self, statements: Sequence[str]) -> None:
        with self.transaction() as tx:  # BEGIN IMMEDIATE: one creator at a time
            for statement in statements:
                tx.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()
