"""A :class:`~.store.SchemaStore` in the state database (:mod:`etlkit.state_db`), shared by the
schema-registry and ingest functions and all their replicas.

Table ``schema_versions``: a row per (subject, version), the schema as JSON text. ``append``
inserts version ``n`` only while the subject has exactly ``n - 1`` versions, and the primary key
refuses a second row for the same version: of two replicas registering at once, one row lands
and the other writer gets :class:`~.store.VersionConflict` (it reloads and decides again).
"""
from __future__ import annotations

import json

from ..http import exact_number
from ..outrecord import compact_json_text
from ..state_db import StateDb
from .store import Schema, VersionConflict

_TABLES = ("CREATE TABLE IF NOT EXISTS schema_versions (subject TEXT NOT NULL, "
           "version BIGINT NOT NULL CHECK (version >= 1), body TEXT NOT NULL, "
           "PRIMARY KEY (subject, version))",)


class StateDbSchemaStore:
    def __init__(self, db: StateDb) -> None:
        self._db = db
        db.create_tables(_TABLES)

    def load(self) -> dict[str, list[Schema]]:
        """Every subject's versions, oldest first."""
        subjects: dict[str, list[Schema]] = {}
        for subject, body in self._db.query(
                "SELECT subject, body FROM schema_versions ORDER BY subject, version"):
            subjects.setdefault(subject, []).append(json.loads(body, parse_float=exact_number))  # a long decimal kept exact
        return subjects

    def append(self, subject: str, version: int, schema: Schema) -> None:
        """Add ``version`` of ``subject`` (see :class:`~.store.SchemaStore`)."""
        body = compact_json_text(schema, sort_keys=True, ensure_ascii=False)  # Decimal digits too
        with self._db.transaction() as tx:
            added = tx.execute(
                "INSERT INTO schema_versions (subject, version, body) SELECT ?, ?, ? "
                "WHERE (SELECT COUNT(*) FROM schema_versions WHERE subject = ?) = ? "
                "ON CONFLICT (subject, version) DO NOTHING",
                (subject, version, body, subject, version - 1))
            if not added:
                (stored,), = tx.fetch("SELECT COUNT(*) FROM schema_versions WHERE subject = ?", (subject,))
                raise VersionConflict(f"{subject}: version {version} requested, the next is {stored + 1}")
