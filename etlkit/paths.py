"""Where a function keeps its local files: the path an environment variable names, else a file
in the local stack's run folder ($FAAS_ETL_RUN_DIR), else in /tmp."""
from __future__ import annotations

import os


def run_dir() -> str:
    return os.getenv("FAAS_ETL_RUN_DIR") or "/tmp"


def local_path(env_name: str, default_name: str) -> str:
    return os.getenv(env_name) or os.path.join(run_dir(), default_name)
