"""The local default :class:`~.store.WorkflowStore`: one SQLite file (stdlib ``sqlite3``).

Each call opens its own connection, so one store object is safe to share between the threads of
a web server, and several processes may use the same file. ``append`` runs in a ``BEGIN
IMMEDIATE`` transaction (the write lock is taken before reading the latest version), and the
primary key (name, version) refuses a second writer of the same version even if that failed.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Iterator

from .store import StaleVersion, VersionRecord, WorkflowNotFound

SCHEMA_VERSION = 1  # PRAGMA user_version: a file written by newer code is refused, not misread
_SCHEMA = """
CREATE TABLE IF NOT EXISTS workflow_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    document TEXT,                      -- NULL: the workflow was deleted at this version
    created_at_ms INTEGER NOT NULL,     -- epoch milliseconds, from the service's clock
    PRIMARY KEY (name, version)
) WITHOUT ROWID
"""


class SqliteWorkflowStore:
    """Workflow versions in the SQLite file at ``path`` (created, with its folder, when missing)."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self._timeout = busy_timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            found = db.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path} has workflow store schema {found}; this code knows {SCHEMA_VERSION}")
            # WAL lets readers go on while one writer appends; the setting sticks to the file.
            db.execute("PRAGMA journal_mode=WAL")
            with db:
                db.execute(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE below), never implied.
        return sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)

    def append(self, record: VersionRecord) -> None:
        """Insert ``record`` if its version is the latest + 1, atomically; else :class:`StaleVersion`."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                latest = db.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM workflow_versions WHERE name = ?", (record.name,)
                ).fetchone()[0]
                if record.version != latest + 1:
                    raise StaleVersion(record.name, record.version - 1, latest)
                db.execute(
                    "INSERT INTO workflow_versions (name, version, document, created_at_ms) VALUES (?, ?, ?, ?)",
                    (record.name, record.version, record.document, record.created_at_ms),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def read(self, name: str, version: int | None = None) -> VersionRecord:
        """The given version of ``name`` or its latest; :class:`WorkflowNotFound` if there is none."""
        query = "SELECT name, version, document, created_at_ms FROM workflow_versions WHERE name = ?"
        if version is None:
            rows = self._rows(query + " ORDER BY version DESC LIMIT 1", (name,))
        else:
            rows = self._rows(query + " AND version = ?", (name, version))
        record = next(rows, None)
        if record is None:
            raise WorkflowNotFound(f"no workflow {name!r}" + (f" version {version}" if version is not None else ""))
        return record

    def history(self, name: str) -> list[VersionRecord]:
        """Every version of ``name``, oldest first."""
        return list(
            self._rows(
                "SELECT name, version, document, created_at_ms FROM workflow_versions WHERE name = ? ORDER BY version",
                (name,),
            )
        )

    def names(self) -> list[str]:
        """Every name ever stored, sorted."""
        with closing(self._connect()) as db:
            return [row[0] for row in db.execute("SELECT DISTINCT name FROM workflow_versions ORDER BY name")]

    def _rows(self, query: str, params: tuple[object, ...]) -> Iterator[VersionRecord]:
        with closing(self._connect()) as db:
            rows = db.execute(query, params).fetchall()
        return (VersionRecord(*row) for row in rows)
