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
from typing import Any, Iterator

from .paths import run_dir


def default_state_path() -> pathlib.Path:
    url = os.getenv("STATE_URL", "")
    if url.startswith("sqlite:///"):
        return pathlib.Path(url[len("sqlite:///"):])
    if url:
        raise ValueError("STATE_URL: only sqlite:///<path> is supported")
    return pathlib.Path(run_dir()) / "step-state.db"


class StateStore:
    def __init__(self, path: pathlib.Path | None = None):
        self.path = pathlib.Path(path or default_state_path())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(self._connect()) as db:
            db.execute("CREATE TABLE IF NOT EXISTS step_state (name TEXT PRIMARY KEY, "
                       "state TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[tuple[Any, Any]]:
        """Yield (state, save): the current state (None at first) and a function to replace it.
        The new state is committed when the block ends without an exception."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT state FROM step_state WHERE name = ?", (name,)).fetchone()
            pending: list[Any] = []
            yield (json.loads(row[0]) if row else None), pending.append
            if pending:
                db.execute("INSERT INTO step_state(name, state) VALUES (?, ?) ON CONFLICT(name) "
                           "DO UPDATE SET state = excluded.state", (name, json.dumps(pending[-1])))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()
