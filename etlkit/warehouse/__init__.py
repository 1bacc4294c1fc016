"""The warehouse loader: batched, idempotent upserts of records into SQLite or PostgreSQL.

Typical use by the warehouse-loader function::

    warehouse = open_warehouse(os.environ["WAREHOUSE_URL"])          # once per replica
    columns = columns_from_json_schema(schema)                        # or None: inferred
    rows = [row_for_record(key, value, "id") for key, value in records]
    mark = AppliedMark(consumer_name(workflow, step, "orders"), invocation.identity, now_ms)
    result = load_batch(warehouse, "orders", "id", rows, columns=columns, applied=mark)
    # result.written rows stored; result.rejected -> dead letters (index, reason);
    # result.duplicate: the batch was applied before, nothing written
    # WarehouseUnavailable -> answer 5xx so the batch is retried (written at most once)

Only `postgres_backend` imports psycopg, and only when a PostgreSQL URL is opened.
"""
from .applied import APPLIED_TABLE, AppliedMark, consumer_name
from .columns import Column, ColumnType, columns_from_json_schema, columns_from_rows
from .convert import ConversionError, convert_rows
from .errors import AlreadyApplied, BadDataError, RejectedRow, SchemaConflict, WarehouseError, WarehouseMisconfigured, WarehouseUnavailable
from .factory import open_warehouse
from .identifiers import InvalidIdentifier, check_identifier
from .loader import LoadResult, load_batch, row_for_record
from .protocol import Warehouse
from .url import DatabaseUrlError, parse_database_url, read_secret, redact_url, resolve_reference

__all__ = [
    "APPLIED_TABLE",
    "AlreadyApplied",
    "AppliedMark",
    "BadDataError",
    "Column",
    "ColumnType",
    "ConversionError",
    "DatabaseUrlError",
    "InvalidIdentifier",
    "LoadResult",
    "RejectedRow",
    "SchemaConflict",
    "Warehouse",
    "WarehouseError",
    "WarehouseMisconfigured",
    "WarehouseUnavailable",
    "check_identifier",
    "columns_from_json_schema",
    "columns_from_rows",
    "consumer_name",
    "convert_rows",
    "load_batch",
    "open_warehouse",
    "parse_database_url",
    "read_secret",
    "redact_url",
    "resolve_reference",
    "row_for_record",
]
