"""Step state kept between invocations (the aggregate's open windows), shared by all replicas.

One row per (workflow, step) in a small SQLite table. A read-modify-write holds the database's
write lock for its whole length (``BEGIN IMMEDIATE``), so two replicas never interleave, and the
state is saved only after the step's outputs were acknowledged: a failed invocation leaves the
previous state, and its retry starts from it.

I/O module (sqlite3). STATE_URL is ``sqlite:///path``; it defaults to the run folder locally.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import sqlite3
import threading
from typing import Any, Iterator

from .outrecord import json_bytes
from .paths import run_dir


def default_state_path() -> pathlib.Path:
    url = os.getenv("STATE_URL", "")
    if url.startswith("sqlite:///"):
        return pathlib.Path(url[len("sqlite:///"):])
    if url:
        raise ValueError("STATE_URL: only sqlite:///<path> is supported")
    return pathlib.Path(run_dir()) / "step-state.db"


class StateStore:
    """Per-name JSON state in SQLite, read and replaced under the database's write lock.

    One connection, kept open: closing the last connection to a WAL database checkpoints and
    removes the log, a cost per call that only a short-lived process should pay, and one
    connection per thread would hold a page cache per thread. Calls of this process take turns
    on it (they would queue on the database's write lock anyway).
    The state last read or written under each name is kept with its text: while the row still
    holds that text (no other replica wrote), the same object is handed back without parsing,
    which lets the aggregate step carry on with its window state (see WindowState.resume).
    So a caller must not change the state it is given; it saves a new one.
    """

    def __init__(self, path: pathlib.Path | None = None):
        self.path = pathlib.Path(path or default_state_path())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str, Any]] = {}  # name -> (row text, its state)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A few rows of some KiB each: a 256 KiB page cache holds them (the default is 2 MiB).
        self._db.execute("PRAGMA cache_size=-256")
        self._db.execute("CREATE TABLE IF NOT EXISTS step_state (name TEXT PRIMARY KEY, "
                         "state TEXT NOT NULL)")

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[tuple[Any, Any]]:
        """Yield (state, save): the current state (None at first) and a function to replace it.
        The new state is committed when the block ends without an exception."""
        with self._lock:
            yield from self._read_modify_write(name)

    def _read_modify_write(self, name: str) -> Iterator[tuple[Any, Any]]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT state FROM step_state WHERE name = ?", (name,)).fetchone()
            text = row[0] if row else None
            known = self._known.get(name)
            if known is not None and known[0] == text:
                state = known[1]
            else:
                state = None if text is None else json.loads(text)
            pending: list[Any] = []
            yield state, pending.append
            if pending:
                state = pending[-1]
                text = json_bytes(state).decode()
                db.execute("INSERT INTO step_state(name, state) VALUES (?, ?) ON CONFLICT(name) "
                           "DO UPDATE SET state = excluded.state", (name, text))
            if text is not None:
                self._known[name] = (text, state)
            db.execute("COMMIT")
        except BaseException:
            self._known.pop(name, None)
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
