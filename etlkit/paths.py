"""The local run folder: $FAAS_ETL_RUN_DIR (the local stack's), else /tmp, the one folder a
function may write in a cluster (etlkit/state_db.py keeps its default SQLite file there)."""
from __future__ import annotations

import os


def run_dir() -> str:
    return os.getenv("FAAS_ETL_RUN_DIR") or "/tmp"
