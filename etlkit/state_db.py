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
won, or lock the rows they read with ``fetch(..., lock=)``), ``claim()`` holds rows while the
caller does slow I/O, and ``query()`` reads. The SQL is written once, with ``?`` markers and the
``INSERT ... ON CONFLICT`` both dialects accept; the PostgreSQL side turns ``?`` into ``%s``.

Each store declares its tables once, as the ``CREATE TABLE IF NOT EXISTS`` statements it passes
to ``create_tables``; :func:`table_names` reads the names from them (``faas-etl reset`` empties
the tables an empty broker contradicts by those names).
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol

from .paths import run_dir
from .secrets import read_secret
from .warehouse.url import PostgresTarget, SqliteTarget, parse_database_url

STATE_PASSWORD_SECRET = "state-password"
DEFAULT_STATE_FILE = "step-state.db"
SQLITE_BUSY_TIMEOUT_S = 30.0  # the aggregate holds the write lock while Kafka acknowledges


class StateUnavailable(Exception):
    """The state database cannot be reached right now (a retry may succeed)."""


RowLock = Literal["share", "update"]


class Transaction(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        ...

    def fetch(self, sql: str, params: Sequence[Any] = (), *, lock: RowLock | None = None) -> list[tuple]:
        """Read rows; ``lock`` holds them until the transaction ends: PostgreSQL ``FOR SHARE``
        (other sharers pass, writers wait) or ``FOR UPDATE`` (everyone else waits). SQLite
        needs none: its transaction already holds the one write lock."""
        ...


class StateDb(Protocol):
    dialect: str  # "sqlite" or "postgresql"

    def transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...

    def claim(self) -> contextlib.AbstractContextManager[Transaction]:
        """Statements whose locked rows stay claimed while the caller does slow I/O (a produce
        to Kafka): a PostgreSQL transaction. On SQLite each statement commits by itself, since
        holding its one write lock would stop every other writer meanwhile."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...

    def create_tables(self, statements: Sequence[str]) -> None:
        """Run ``CREATE ... IF NOT EXISTS`` statements, one process at a time."""
        ...

    def close(self) -> None: ...


_CREATED = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")


def table_names(statements: Sequence[str]) -> tuple[str, ...]:
    """The tables ``statements`` (a store's ``create_tables`` argument) create, in order."""
    return tuple(match.group(1) for statement in statements if (match := _CREATED.match(statement)))


def present_tables(tx: Transaction, dialect: str, names: Sequence[str]) -> list[str]:
    """Which of ``names`` exist (in order): a store reading a table it does not create (an
    older layout's), or a reset that must not create what it empties."""
    if dialect == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:  # the schema the search path resolves the name in, as the stores' statements do
        sql = "SELECT 1 WHERE to_regclass(?) IS NOT NULL"
    return [name for name in names if tx.fetch(sql, (name,))]


def state_url(env: Mapping[str, str] | None = None, folder: str | os.PathLike[str] | None = None) -> str:
    """STATE_URL, or the SQLite file in ``folder`` (default: the run folder) when it is unset."""
    env = os.environ if env is None else env
    default = os.path.join(run_dir() if folder is None else folder, DEFAULT_STATE_FILE)
    return env.get("STATE_URL") or f"sqlite:///{default}"


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


# Primary result codes of a database that cannot be used right now (locked past the busy
# timeout, disk trouble), not of a fault in the SQL: https://www.sqlite.org/rescode.html
_SQLITE_UNAVAILABLE = {5, 6, 7, 10, 13, 14, 15}  # BUSY LOCKED NOMEM IOERR FULL CANTOPEN PROTOCOL


class _SqliteTransaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._db.execute(sql, params).rowcount

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def fetch(self, sql: str, params: Sequence[Any] = (), *, lock: RowLock | None = None) -> list[tuple]:
        return self._db.execute(sql, params).fetchall()  # BEGIN IMMEDIATE holds the write lock


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
        with self._lock, self._unavailable():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(self._db)
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextlib.contextmanager
    def claim(self) -> Iterator[Transaction]:
        with self._lock, self._unavailable():
            yield _SqliteTransaction(self._db)  # no BEGIN: each statement commits by itself

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock, self._unavailable():
            return self._db.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _unavailable(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", 0) & 0xFF not in _SQLITE_UNAVAILABLE:
                raise  # a fault in the SQL: no retry would help
            raise StateUnavailable(f"state database {self.path}: {error}") from error

    def create_tables(self, statements: Sequence[str]) -> None:
        with self.transaction() as tx:  # BEGIN IMMEDIATE: one creator at a time
            for statement in statements:
                tx.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()
