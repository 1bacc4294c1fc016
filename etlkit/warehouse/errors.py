"""What can go wrong in a warehouse write, sorted by what the caller should do about it.

* `WarehouseUnavailable`: the database could not be reached or the transaction was aborted by
  the server (connection lost, locked, shutting down, serialization failure). Nothing of the
  batch was written (or it was and the upsert makes a retry harmless): retry the batch.
* `BadDataError`: the batch holds rows that cannot be stored. ``rejected`` names them (index in
  the batch and reason) when they were found before the write; it is empty when the database
  refused the batch without saying which row, and `load_batch` then bisects to find it.
  Nothing of the batch was written. Dead-letter the rejected rows, write the others.
* `AlreadyApplied` (no fault, not a `WarehouseError`): the input's identity was applied
  before, so nothing was written; answer as for a success.
* `WarehouseMisconfigured`: the server refused this function's own configuration (password,
  role, database name). Not the records' fault, and fixed outside the request (a corrected
  secret is read at the next connection): the loader answers 500, a fault the Sensor retries
  and then dead-letters, never a 4xx that blames the request.
* `WarehouseError` itself and its other kinds (`SchemaConflict`, `InvalidIdentifier`,
  `DatabaseUrlError`, a missing table): a fault of the step's spec that a retry will not fix.
"""
from __future__ import annotations

from dataclasses import dataclass, field


class WarehouseError(Exception):
    """Base of every error the warehouse package raises on purpose."""


class WarehouseUnavailable(WarehouseError):
    """Retry-worthy: the database is unreachable or aborted the transaction."""


class WarehouseMisconfigured(WarehouseError):
    """The server refused the connection's credentials, role or database: the deployment's fault."""


class SchemaConflict(WarehouseError):
    """The wanted columns cannot be reconciled with the table (not fixable by retrying)."""


@dataclass(frozen=True)
class RejectedRow:
    """A row that cannot be stored: its index in the batch it came in, why, and the row."""

    index: int
    reason: str
    row: object = field(repr=False, compare=False)


class BadDataError(WarehouseError):
    """The batch holds rows the warehouse cannot store; nothing of the batch was written."""

    def __init__(self, reason: str, rejected: tuple[RejectedRow, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rejected = rejected


class AlreadyApplied(Exception):
    """The batch's identity is in ``faas_etl_applied`` already: nothing was written.

    Not a `WarehouseError`: a redelivered batch is the normal result of a retry, not a fault,
    and a handler's ``except WarehouseError`` must never turn it into an error answer.
    """

    def __init__(self, consumer: str, batch_id: str) -> None:
        super().__init__(f"{consumer}: batch {batch_id} was applied before")
        self.consumer, self.batch_id = consumer, batch_id
