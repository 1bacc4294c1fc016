"""The :class:`~.store.WorkflowStore` in the state database (STATE_URL, etlkit/state_db.py):
SQLite locally, PostgreSQL in a cluster, so every workflow-manager replica sees one history.

``append`` inserts version ``n`` only while the latest stored version of the name is ``n - 1``,
and the primary key (name, version) refuses a second row for the same version, so of two
writers racing (replicas, or threads of one), one wins and the other gets :class:`StaleVersion`.
"""
from __future__ import annotations

from .store import StaleVersion, VersionRecord, WorkflowNotFound
from ..state_db import StateDb

_TABLES = ("""CREATE TABLE IF NOT EXISTS workflow_versions (
    name TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    document TEXT,                      -- NULL: the workflow was deleted at this version
    created_at_ms BIGINT NOT NULL,      -- epoch milliseconds, from the service's clock
    PRIMARY KEY (name, version)
)""",)
_COLUMNS = "SELECT name, version, document, created_at_ms FROM workflow_versions"


class StateDbWorkflowStore:
    """Workflow versions in table ``workflow_versions`` of ``db`` (created on first use)."""

    def __init__(self, db: StateDb) -> None:
        self._db = db
        db.create_tables(_TABLES)

    def append(self, record: VersionRecord) -> None:
        """Insert ``record`` if its version is the latest + 1, atomically; else :class:`StaleVersion`."""
        with self._db.transaction() as tx:
            added = tx.execute(
                "INSERT INTO workflow_versions (name, version, document, created_at_ms) SELECT ?, ?, ?, ? "
                "WHERE (SELECT COALESCE(MAX(version), 0) FROM workflow_versions WHERE name = ?) = ? "
                "ON CONFLICT (name, version) DO NOTHING",
                (record.name, record.version, record.document, record.created_at_ms, record.name, record.version - 1))
            if not added:
                (latest,), = tx.fetch("SELECT COALESCE(MAX(version), 0) FROM workflow_versions WHERE name = ?",
                                      (record.name,))
                raise StaleVersion(record.name, record.version - 1, latest)

    def read(self, name: str, version: int | None = None) -> VersionRecord:
        """The given version of ``name`` or its latest; :class:`WorkflowNotFound` if there is none."""
        if version is None:
            rows = self._db.query(f"{_COLUMNS} WHERE name = ? ORDER BY version DESC LIMIT 1", (name,))
        else:
            rows = self._db.query(f"{_COLUMNS} WHERE name = ? AND version = ?", (name, version))
        if not rows:
            raise WorkflowNotFound(f"no workflow {name!r}" + (f" version {version}" if version is not None else ""))
        return VersionRecord(*rows[0])

    def history(self, name: str) -> list[VersionRecord]:
        """Every version of ``name``, oldest first."""
        return [VersionRecord(*row) for row in self._db.query(f"{_COLUMNS} WHERE name = ? ORDER BY version", (name,))]

    def names(self) -> list[str]:
        """Every name ever stored, sorted."""
        return [row[0] for row in self._db.query("SELECT DISTINCT name FROM workflow_versions ORDER BY name")]
