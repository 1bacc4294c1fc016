"""Where the schema registry keeps its versions, shared by the ingest and schema-registry
functions: a JSON file at SCHEMA_STORE_PATH (the local stack puts it in its run folder; in a
cluster, a volume both functions mount)."""
from __future__ import annotations

import os
import pathlib

from .schemas import JsonFileSchemaStore, SchemaRegistry


def registry_from_env() -> SchemaRegistry:
    default = pathlib.Path(os.getenv("FAAS_ETL_RUN_DIR", "/tmp")) / "schemas.json"
    return SchemaRegistry(JsonFileSchemaStore(os.getenv("SCHEMA_STORE_PATH", str(default))))
