"""``load_batch``: what the warehouse-loader function calls for each batch of records.

It makes sure the table fits the rows (from the topic's schema, or inferred), upserts them,
and splits bad rows from good ones: rows that fail conversion are rejected with their reason
and the rest written; if the database itself refuses the batch without naming a row, the batch
is bisected until the culprits are isolated. Each write is one transaction and the upsert is
idempotent, so a retry after `WarehouseUnavailable` (which propagates) never duplicates rows.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .columns import Column, columns_from_rows
from .errors import BadDataError, RejectedRow
from .identifiers import InvalidIdentifier, check_identifier
from .protocol import Warehouse


@dataclass(frozen=True)
class LoadResult:
    """Rows written (distinct keys, summed over the transactions used) and rows rejected.

    A rejected row's ``index`` is its position in the batch given to `load_batch`.
    """

    written: int
    rejected: tuple[RejectedRow, ...]


def row_for_record(key: str | None, value: Mapping[str, object], key_column: str) -> dict[str, object]:
    """The row for a Kafka record: its value, with the record key as the key column.

    The contract makes the record key the upsert key, so it wins over a same-named field.
    """
    row = dict(value)
    if key is not None:
        row[key_column] = key
    return row


def load_batch(
    warehouse: Warehouse,
    table: str,
    key_column: str,
    rows: Sequence[Mapping[str, object]],
    *,
    columns: Sequence[Column] | None = None,
) -> LoadResult:
    """Ensure ``table`` has ``columns`` (inferred from ``rows`` when None), then upsert ``rows``.

    Good rows are written even when others are rejected. Without ``columns``, a row with a
    field name that cannot be a column is rejected (with a schema, fields outside it are
    simply not stored). Raises `WarehouseUnavailable` for the caller to retry the whole batch,
    and other `WarehouseError`s for configuration faults.
    """
    indexed = list(enumerate(rows))
    rejected: list[RejectedRow] = []
    if columns is None:
        indexed, rejected = _screen_field_names(indexed)
        columns = columns_from_rows(row for _, row in indexed)
    warehouse.ensure_table(table, columns, key_column)
    written, refused = _write(warehouse, table, key_column, indexed)
    return LoadResult(written, tuple(sorted(rejected + refused, key=lambda r: r.index)))


def _screen_field_names(
    indexed: list[tuple[int, Mapping[str, object]]],
) -> tuple[list[tuple[int, Mapping[str, object]]], list[RejectedRow]]:
    """Rows whose every field can name a column, and the others rejected (inference only)."""
    kept: list[tuple[int, Mapping[str, object]]] = []
    rejected: list[RejectedRow] = []
    valid: set[object] = set()  # a batch's rows share their few field names: check each once
    for index, row in indexed:
        if type(row) is not dict and not isinstance(row, Mapping):
            kept.append((index, row))  # the conversion rejects it with its own reason
            continue
        try:
            for name in row:
                if name not in valid:
                    check_identifier(name, "field")
                    valid.add(name)
        except InvalidIdentifier as error:
            rejected.append(RejectedRow(index, f"{error} (no column can be named so)", row))
            continue
        kept.append((index, row))
    return kept, rejected


def _write(
    warehouse: Warehouse, table: str, key_column: str, indexed: list[tuple[int, Mapping[str, object]]]
) -> tuple[int, list[RejectedRow]]:
    if not indexed:
        return 0, []
    try:
        return warehouse.upsert(table, key_column, [row for _, row in indexed]), []
    except BadDataError as error:
        if error.rejected:  # found before the write: drop them and write the rest
            bad = {r.index for r in error.rejected}
            rejected = [RejectedRow(indexed[r.index][0], r.reason, r.row) for r in error.rejected]
            rest = [item for i, item in enumerate(indexed) if i not in bad]
            written, more = _write(warehouse, table, key_column, rest)
            return written, rejected + more
        if len(indexed) == 1:  # the database refused this very row
            index, row = indexed[0]
            return 0, [RejectedRow(index, error.reason, row)]
        middle = len(indexed) // 2  # halves in order, so a later duplicate still wins
        written_first, rejected_first = _write(warehouse, table, key_column, indexed[:middle])
        written_second, rejected_second = _write(warehouse, table, key_column, indexed[middle:])
        return written_first + written_second, rejected_first + rejected_second
