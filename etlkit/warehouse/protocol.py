"""The narrow interface every warehouse backend offers (and every test double needs)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from .applied import AppliedMark
from .columns import Column


class Warehouse(Protocol):
    """A table store with an idempotent, batched upsert on a key column.

    All methods are safe to call again after a `WarehouseUnavailable` (idempotent).
    """

    def ensure_table(self, table: str, columns: Sequence[Column], key_column: str) -> tuple[Column, ...]:
        """Create the table, or add the columns it lacks; return its columns as they now are."""
        ...

    def upsert(
        self,
        table: str,
        key_column: str,
        rows: Sequence[Mapping[str, object]],
        *,
        applied: AppliedMark | None = None,
        probe: bool = False,
    ) -> int:
        """Insert or replace ``rows`` by key in one transaction; return the distinct keys written.

        ``applied`` is recorded in that transaction; if it was recorded before, nothing is
        written and `AlreadyApplied` is raised. ``probe`` rolls the transaction back. Raises
        `BadDataError` (nothing written) when rows cannot be stored, and `WarehouseUnavailable`
        when the database cannot be reached.
        """
        ...

    def count(self, table: str) -> int:
        """Number of rows in the table."""
        ...

    def close(self) -> None:
        """Release the connection. Safe to call twice."""
        ...
