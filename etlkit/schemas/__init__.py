"""The schema-registry role: JSON Schema versions per topic, evolution rules, record validation.

Pure apart from :mod:`.file_store` (a local file). Storage is behind the two-method
:class:`SchemaStore` Protocol, so a Kafka compacted-topic store plugs in unchanged.
"""
from .compatibility import DEFAULT_LEVEL, LEVELS, Incompatibility, problems_for_level, reader_problems
from .file_store import JsonFileSchemaStore, StoreCorrupt
from .registry import IncompatibleSchema, SchemaRegistry, UnknownSubject
from .store import InMemorySchemaStore, SchemaStore, VersionConflict
from .validation import RecordValidator, SchemaInvalid, ValidationProblem, check_schema

__all__ = [
    "DEFAULT_LEVEL", "IncompatibleSchema", "Incompatibility", "InMemorySchemaStore",
    "JsonFileSchemaStore", "LEVELS", "RecordValidator", "SchemaInvalid", "SchemaRegistry",
    "SchemaStore", "StoreCorrupt", "UnknownSubject", "ValidationProblem", "VersionConflict",
    "check_schema", "problems_for_level", "reader_problems",
]
