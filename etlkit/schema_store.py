"""Where the schema registry keeps its versions, shared by the ingest and schema-registry
functions: a JSON file at SCHEMA_STORE_PATH (the local stack puts it in its run folder; in a
cluster, a volume both functions mount)."""
from __future__ import annotations

from .paths import local_path
from .schemas import JsonFileSchemaStore, SchemaRegistry


def registry_from_env() -> SchemaRegistry:
    return SchemaRegistry(JsonFileSchemaStore(local_path("SCHEMA_STORE_PATH", "schemas.json")))
