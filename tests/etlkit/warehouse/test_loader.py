"""load_batch: good rows written, bad rows rejected with reasons, on real backends and a double."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from etlkit.warehouse import (
    BadDataError,
    Column,
    ColumnType,
    LoadResult,
    RejectedRow,
    columns_from_json_schema,
    load_batch,
    row_for_record,
)
from tests.etlkit.warehouse.conftest import Backend

SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}}}


def test_bad_rows_do_not_sink_the_good_ones(backend: Backend, table: str):
    rows = [{"id": "a", "qty": 1}, {"id": "b", "qty": "x"}, {"qty": 3}, {"id": "d", "qty": 4}]
    result = load_batch(backend.warehouse, table, "id", rows, columns=columns_from_json_schema(SCHEMA))
    assert result.written == 2
    assert [(r.index, r.reason) for r in result.rejected] == [
        (1, "column 'qty': 'x' is not an integer"),
        (2, "column 'id' (the key): missing"),
    ]
    assert result.rejected[0].row == rows[1]
    assert backend.rows(table) == [("a", 1), ("d", 4)]


def test_rows_the_database_refuses_are_isolated_by_bisection(backend: Backend, table: str):
    backend.query(f'CREATE TABLE "{table}" ("id" TEXT PRIMARY KEY, "qty" BIGINT CHECK ("qty" >= 0))')
    rows = [{"id": f"k{i}", "qty": -1 if i in (3, 11) else i} for i in range(16)]
    result = load_batch(backend.warehouse, table, "id", rows, columns=[Column("qty", ColumnType.INTEGER)])
    assert [r.index for r in result.rejected] == [3, 11]
    assert all("refused" in r.reason for r in result.rejected)
    assert result.written == 14
    assert backend.warehouse.count(table) == 14


def test_without_schema_columns_come_from_the_rows(backend: Backend, table: str):
    rows = [{"id": "a", "n": 1, "tags": ["x"]}, {"id": "b", "n": 2.5, "note": "hi"}]
    result = load_batch(backend.warehouse, table, "id", rows)
    assert result.written == 2
    columns = backend.warehouse.ensure_table(table, [], "id")
    assert [(c.name, c.type) for c in columns] == [
        ("id", ColumnType.TEXT),
        ("n", ColumnType.REAL),
        ("tags", ColumnType.JSON),
        ("note", ColumnType.TEXT),
    ]


def test_without_schema_a_field_that_cannot_be_a_column_rejects_only_its_row(backend: Backend, table: str):
    rows = [{"id": "a", "n": 1}, {"id": "b", "first-name": "x"}, {"id": "c", "n": 3}]
    result = load_batch(backend.warehouse, table, "id", rows)
    assert [(r.index, r.reason.split(":")[0]) for r in result.rejected] == [(1, "field 'first-name'")]
    assert backend.rows(table) == [("a", 1), ("c", 3)]


def test_without_schema_every_row_with_a_bad_field_name_is_rejected(backend: Backend, table: str):
    # Field names are checked once per batch: a repeated bad name still rejects each of its rows.
    rows = [{"id": "a", "bad name": 1}, {"id": "b", "n": 2}, {"id": "c", "bad name": 3}]
    result = load_batch(backend.warehouse, table, "id", rows)
    assert [r.index for r in result.rejected] == [0, 2]
    assert backend.rows(table) == [("b", 2)]


def test_with_schema_fields_outside_it_are_not_stored(backend: Backend, table: str):
    rows = [{"id": "a", "qty": 1, "first-name": "x", "extra": True}]
    result = load_batch(backend.warehouse, table, "id", rows, columns=columns_from_json_schema(SCHEMA))
    assert result == LoadResult(1, ())
    assert backend.rows(table) == [("a", 1)]


def test_replayed_batch_with_rejects_gives_same_outcome(backend: Backend, table: str):
    rows = [{"id": "a", "qty": 1}, {"id": "b", "qty": "x"}]
    columns = columns_from_json_schema(SCHEMA)
    first = load_batch(backend.warehouse, table, "id", rows, columns=columns)
    second = load_batch(backend.warehouse, table, "id", rows, columns=columns)
    assert first == second
    assert backend.warehouse.count(table) == 1


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("k1", {"qty": 1}, {"qty": 1, "id": "k1"}),
        ("k1", {"id": "other", "qty": 1}, {"id": "k1", "qty": 1}),
        (None, {"id": "own", "qty": 1}, {"id": "own", "qty": 1}),
    ],
    ids=["key-added", "record-key-wins-over-field", "no-record-key-keeps-field"],
)
def test_row_for_record(key, value, expected):
    assert row_for_record(key, value, "id") == expected


class RefusingWarehouse:
    """A double whose database refuses any batch containing a row with ``bad`` set."""

    def __init__(self) -> None:
        self.stored: dict[str, Mapping[str, object]] = {}
        self.calls = 0

    def ensure_table(self, table: str, columns: Sequence[Column], key_column: str) -> tuple[Column, ...]:
        return tuple(columns)

    def upsert(self, table: str, key_column: str, rows: Sequence[Mapping[str, object]], *,
               applied: object = None, probe: bool = False) -> int:
        self.calls += 1
        if any(row.get("bad") for row in rows):
            raise BadDataError("refused")
        if not probe:
            self.stored.update({str(row[key_column]): row for row in rows})
        return len({row[key_column] for row in rows})

    def count(self, table: str) -> int:
        return len(self.stored)

    def close(self) -> None:
        pass


def test_bisection_keeps_later_duplicates_winning():
    warehouse = RefusingWarehouse()
    rows = [{"id": "a", "v": 1}, {"id": "x", "bad": True}, {"id": "a", "v": 2}, {"id": "b", "v": 3}]
    result = load_batch(warehouse, "t", "id", rows, columns=[])
    assert result.rejected == (RejectedRow(1, "refused", rows[1]),)
    assert warehouse.stored["a"]["v"] == 2


@pytest.mark.parametrize(("size", "bad"), [(1024, {0}), (1024, {1023}), (1000, {17, 500})], ids=["first", "last", "two"])
def test_bisection_needs_few_transactions(size: int, bad: set[int]):
    warehouse = RefusingWarehouse()
    rows = [{"id": str(i), "bad": i in bad} for i in range(size)]
    result = load_batch(warehouse, "t", "id", rows, columns=[])
    assert {r.index for r in result.rejected} == bad
    assert warehouse.count("t") == size - len(bad)
    # The first write, two probes per level of each culprit's bisection, the final write.
    assert warehouse.calls <= 2 + 2 * len(bad) * size.bit_length()
