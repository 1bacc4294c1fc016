"""Where the schema registry keeps its versions, shared by the ingest and schema-registry
functions and all their replicas: table ``schema_versions`` of the state database (STATE_URL,
see etlkit/state_db.py)."""
from __future__ import annotations

from .schemas import SchemaRegistry, StateDbSchemaStore
from .state_db import open_state_db


def registry_from_env() -> SchemaRegistry:
    return SchemaRegistry(StateDbSchemaStore(open_state_db(application_name="schema-registry")))
