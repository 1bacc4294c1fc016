"""The schema-registry role: JSON Schema versions per topic, evolution rules, record validation.

Pure apart from :mod:`.db_store` (the state database). Storage is behind the two-method
:class:`SchemaStore` Protocol, so a Kafka compacted-topic store plugs in unchanged.
"""
from .compatibility import DEFAULT_LEVEL, LEVELS, problems_for_level, reader_problems
from .db_store import StateDbSchemaStore
from .problems import FieldProblem
from .registry import IncompatibleSchema, SchemaRegistry, UnknownSubject
from .store import InMemorySchemaStore, SchemaStore, VersionConflict
from .validation import RecordValidator, SchemaInvalid, check_schema

__all__ = [
    "DEFAULT_LEVEL", "FieldProblem", "IncompatibleSchema", "InMemorySchemaStore",
    "LEVELS", "RecordValidator", "SchemaInvalid", "SchemaRegistry",
    "SchemaStore", "StateDbSchemaStore", "UnknownSubject", "VersionConflict", "check_schema",
    "problems_for_level", "reader_problems",
]
