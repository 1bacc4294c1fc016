"""``load_batch``: what the warehouse-loader function calls for each batch of records.

It makes sure the table fits the rows (from the topic's schema, or inferred), upserts them,
and splits bad rows from good ones: rows that fail conversion are rejected with their reason
and the rest written; if the database itself refuses the batch without naming a row, the batch
is bisected, in transactions rolled back, until the culprits are isolated. The good rows are
then written in one transaction with the input's identity (``applied``), so the batch is
applied at most once: a retry after `WarehouseUnavailable` (which propagates) or a redelivery
writes nothing the second time.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .applied import AppliedMark
from .columns import Column, columns_from_rows
from .errors import AlreadyApplied, BadDataError, RejectedRow
from .identifiers import InvalidIdentifier, check_identifier
from .protocol import Warehouse


@dataclass(frozen=True)
class LoadResult:
    """Rows written (distinct keys), rows rejected, and whether the batch was applied before.

    A rejected row's ``index`` is its position in the batch given to `load_batch`. A
    ``duplicate`` batch wrote nothing; its rejected rows are found again all the same (their
    dead letters may not have reached Kafka the first time).
    """

    written: int
    rejected: tuple[RejectedRow, ...]
    duplicate: bool = False


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
    applied: AppliedMark | None = None,
) -> LoadResult:
    """Ensure ``table`` has ``columns`` (inferred from ``rows`` when None), then upsert ``rows``.

    Good rows are written even when others are rejected. Without ``columns``, a row with a
    field name that cannot be a column is rejected (with a schema, fields outside it are
    simply not stored). ``applied``: the input's identity, written with the rows; if it was
    written before, nothing is and the result says ``duplicate``. Raises `WarehouseUnavailable`
    for the caller to retry the whole batch, and other `WarehouseError`s for configuration faults.
    """
    indexed = list(enumerate(rows))
    rejected: list[RejectedRow] = []
    if columns is None:
        indexed, rejected = _screen_field_names(indexed)
        columns = columns_from_rows(row for _, row in indexed)
    warehouse.ensure_table(table, columns, key_column)
    written, refused, duplicate = _write(warehouse, table, key_column, indexed, applied)
    return LoadResult(written, tuple(sorted(rejected + refused, key=lambda r: r.index)), duplicate)


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
    warehouse: Warehouse,
    table: str,
    key_column: str,
    indexed: list[tuple[int, Mapping[str, object]]],
    applied: AppliedMark | None,
) -> tuple[int, list[RejectedRow], bool]:
    """Write the rows the database takes, in one transaction with ``applied``: (written,
    rejected, duplicate)."""
    rejected: list[RejectedRow] = []
    while True:
        if not indexed and applied is None:
            return 0, rejected, False
        try:
            written = warehouse.upsert(table, key_column, [row for _, row in indexed], applied=applied)
            return written, rejected, False
        except AlreadyApplied:
            return 0, rejected, True
        except BadDataError as error:
            if error.rejected:  # found before the write: drop them and write the rest
                found = [RejectedRow(indexed[r.index][0], r.reason, r.row) for r in error.rejected]
            else:  # the database refused a row without naming it: find it, writing nothing
                found = _refused(warehouse, table, key_column, indexed, error)
            if not found:
                raise  # refused whole, yet every part is taken alone: not the rows' fault
            bad = {r.index for r in found}
            rejected += found
            indexed = [item for item in indexed if item[0] not in bad]


def _refused(
    warehouse: Warehouse,
    table: str,
    key_column: str,
    indexed: list[tuple[int, Mapping[str, object]]],
    error: BadDataError,
) -> list[RejectedRow]:
    """The rows the database refuses, by bisection with probes (transactions rolled back)."""
    if len(indexed) == 1:
        index, row = indexed[0]
        return [RejectedRow(index, error.reason, row)]
    middle = len(indexed) // 2
    found: list[RejectedRow] = []
    for half in (indexed[:middle], indexed[middle:]):
        try:
            warehouse.upsert(table, key_column, [row for _, row in half], probe=True)
        except BadDataError as refusal:
            found += _refused(warehouse, table, key_column, half, refusal)
    return found
