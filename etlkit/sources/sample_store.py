"""The metrics collector's previous sample per (source, host), in the state database (STATE_URL,
etlkit/state_db.py), so a replica started on a node after another one went still computes rates.

Keyed by host as well as source: rates compare two samples of the same machine's counters, and
the collector's replicas run on different nodes, each reading its own /proc. A sample replaces
the stored one only if it is newer (``at_ms``): a tick that overlapped a later one never puts an
older sample back, so the next rate is never measured over a negative interval.
"""
from __future__ import annotations

import json

from ..state_db import StateDb
from .host_metrics import HostSample

_TABLES = ("CREATE TABLE IF NOT EXISTS host_samples (source TEXT NOT NULL, host TEXT NOT NULL, "
           "at_ms BIGINT NOT NULL, sample TEXT NOT NULL, PRIMARY KEY (source, host))",)


class StateDbSampleStore:
    def __init__(self, db: StateDb) -> None:
        self._db = db
        db.create_tables(_TABLES)

    def previous(self, source: str, host: str) -> HostSample | None:
        """The last sample kept for ``host`` under ``source``; None before the first."""
        rows = self._db.query("SELECT sample FROM host_samples WHERE source = ? AND host = ?", (source, host))
        return HostSample.from_json(json.loads(rows[0][0])) if rows else None

    def keep(self, source: str, host: str, sample: HostSample) -> bool:
        """Keep ``sample`` unless a newer one is stored; True if it was kept."""
        with self._db.transaction() as tx:
            return bool(tx.execute(
                "INSERT INTO host_samples (source, host, at_ms, sample) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source, host) DO UPDATE SET at_ms = excluded.at_ms, sample = excluded.sample "
                "WHERE host_samples.at_ms < excluded.at_ms",
                (source, host, sample.at_ms, json.dumps(sample.to_json(), sort_keys=True))))
